import Foundation
import Testing
@testable import EpisodeStore
import TextEmbedding
import VectorSearch

/// Search over real all-MiniLM-L6-v2 embeddings (clustered, with near ties) equals brute force.
@Suite struct RealEmbeddingSearchTests {
    @Test func miniLMEmbeddingsOfAChatCorpus() throws {
        let models = ProcessInfo.processInfo.environment["EPISODIC_MODELS"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/episodic/models")
        let model = try SentenceEmbedder(directory: models.appendingPathComponent("all-MiniLM-L6-v2"))
        // 800 messages of one persona (the evaluation corpus), one agent: above the exact-scan
        // limit, so the int8 pass and its bounds are exercised on real vectors.
        let shared = ProcessInfo.processInfo.environment["EPISODIC_SHARED"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
        let corpus = try String(contentsOf: shared.appendingPathComponent("eval/cri_persona1/corpus.jsonl"), encoding: .utf8)
        let texts = corpus.split(separator: "\n").prefix(800).compactMap { line -> String? in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["text"] as? String
        }
        #expect(texts.count == 800)
        let vectors = try model.embed(texts)
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        let store = try tmp.open(columns: [VectorColumn(name: "vector_fastembed", role: .fast, dimension: 384, modelID: "all-MiniLM-L6-v2")])
        try store.add(zip(texts.indices, vectors).map { i, v in
            (Episode(id: String(format: "m%04d", i), agentID: "persona", content: texts[i]), ["vector_fastembed": v])
        })
        let all = vectors.enumerated().map { (id: String(format: "m%04d", $0.offset), vector: $0.element) }
        for query in ["what does she like to eat?", "job interview", "her sister's wedding", "running a marathon", "cat"] {
            let q = try model.embed(query, as: .query)
            let hits = try store.similaritySearch(vector: q, column: "vector_fastembed", topK: 100, agentID: "persona")
            #expect(hits.map(\.episodeID) == bruteForce(all, query: q, k: 100), "\(query)")
        }
    }
}
