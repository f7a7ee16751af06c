import EpisodeStore
import Foundation
import TestSupport
import Testing
import TextEmbedding
import VectorSearch

@testable import HybridRetrieval

@Suite struct HybridRetrieverTests {
    /// A fixture holding the samples for "agent" and again for "other" (isolation is checked too).
    static func twoAgents() async throws -> RetrievalFixture {
        let f = try RetrievalFixture()
        try await f.addSamples()
        try await f.addSamples(agent: "other")
        return f
    }

    /// Every "agent" episode's fast and quality score for `query`, recomputed with fresh models.
    static func bruteForceScores(_ f: RetrievalFixture, query: String) async throws -> (dense: [String: Double], quality: [String: Double])
    {
        let fastModel = try SentenceEmbedder(directory: Fixtures.miniLM)
        let qualityModel = try SentenceEmbedder(directory: Fixtures.tinyBert)
        let fq = try fastModel.embed(query, as: .query), qq = try qualityModel.embed(query, as: .query)
        var dense: [String: Double] = [:], quality: [String: Double] = [:]
        for id in RetrievalFixture.episodes.indices.map({ "agent-\($0)" }) {
            dense[id] = Double(VectorKernels.dot(try await f.vector("vector_fastembed", "agent", id)!, fq))
            quality[id] = Double(VectorKernels.dot(try await f.vector("vector", "agent", id)!, qq))
        }
        return (dense, quality)
    }

    /// Ids best first (ties by id).
    static func ranked(_ scores: [String: Double]) -> [String] {
        scores.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
    }

    @Test func rankFusionOrderEqualsABruteForceRecomputation() async throws {
        let f = try await Self.twoAgents()
        defer { f.cleanup() }
        let query = "trip to Lisbon"
        var options = RetrievalOptions(coarseTopK: 8, rerankTopK: 5, timeBudgetMs: nil)
        options.fusion = .rrf
        options.qualityScanLimit = 0 // only the coarse top 5 are reranked here
        let response = try await f.retriever.retrieve(agentID: "agent", query: query, options: options)
        #expect(response.fallbackReason == nil)

        // Recompute every stage by brute force.
        let (dense, quality) = try await Self.bruteForceScores(f, query: query)
        func rank(_ scores: [(String, Double)]) -> [String] { Self.ranked(Dictionary(uniqueKeysWithValues: scores)) }
        let denseTop = Array(Self.ranked(dense).prefix(8))
        let lexical = try await f.store.lexicalSearch(query: query, topK: 8, agentID: "agent").map(\.episodeID)
        func rrf(_ id: String, _ lists: [[String]]) -> Double {
            lists.reduce(0) { sum, list in sum + (list.firstIndex(of: id).map { 1 / (60 + Double($0 + 1)) } ?? 0) }
        }
        let pool = Array(Set(denseTop + lexical))
        let coarse = rank(pool.map { ($0, rrf($0, [denseTop, lexical])) })
        let rerankSet = Array(coarse.prefix(5))
        let qualityOrder = rank(rerankSet.map { ($0, quality[$0]!) })
        let final = rank(rerankSet.map { ($0, rrf($0, [denseTop, lexical, qualityOrder])) }) + coarse.dropFirst(5)

        #expect(response.results.map(\.episode.id) == final)
        #expect(response.results.prefix(5).allSatisfy { $0.stage == .reranked && $0.rerankScore != nil })
        #expect(response.results.count > 5 && response.results.dropFirst(5).allSatisfy { $0.stage == .coarseOnly && $0.rerankScore == nil })
        for r in response.results {
            #expect(r.episode.agentID == "agent")
            #expect(r.coarseScore == rrf(r.episode.id, [denseTop, lexical]))
            #expect(r.ranks.dense == denseTop.firstIndex(of: r.episode.id).map { $0 + 1 })
        }
        #expect(response.timings.totalMs > 0 && response.timings.queryEmbeddingMs > 0)
    }

    @Test func scoreFusionOrderEqualsABruteForceRecomputation() async throws {
        let f = try await Self.twoAgents()
        defer { f.cleanup() }
        let query = "trip to Lisbon"
        let options = RetrievalOptions(coarseTopK: 8, rerankTopK: 5, timeBudgetMs: nil)
        let response = try await f.retriever.retrieve(agentID: "agent", query: query, options: options)
        #expect(response.fallbackReason == nil)

        let (dense, quality) = try await Self.bruteForceScores(f, query: query)
        func top(_ scores: [String: Double], _ k: Int) -> [String] { Array(Self.ranked(scores).prefix(k)) }
        let lexicalHits = try await f.store.lexicalSearch(query: query, topK: 8, agentID: "agent")
        // The union: fast top 8, lexical top 8, quality top 8 (a small agent's exact quality scan).
        let pool = Set(top(dense, 8) + lexicalHits.map(\.episodeID) + top(quality, 8))
        func zScores(_ scores: [String: Double]) -> [String: Double] {
            let mean = scores.values.reduce(0, +) / Double(scores.count)
            let sigma = (scores.values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(scores.count)).squareRoot()
            return scores.mapValues { ($0 - mean) / sigma }
        }
        // Default: z-scores over the pool, every candidate scored by every stage (BM25 0 where it
        // did not return one), weights 0.75 · fast + 0.5 · BM25 + 1 · quality.
        let bm25 = Dictionary(uniqueKeysWithValues: lexicalHits.map { ($0.episodeID, $0.score) })
        let lexical = zScores(Dictionary(uniqueKeysWithValues: pool.map { ($0, bm25[$0] ?? 0) }))
        let d = zScores(dense.filter { pool.contains($0.key) })
        let q = zScores(quality.filter { pool.contains($0.key) })
        let fused = Dictionary(uniqueKeysWithValues: pool.map { ($0, 0.75 * d[$0]! + 0.5 * lexical[$0]! + q[$0]!) })
        let expected = top(fused, pool.count)
        #expect(response.results.map(\.episode.id) == expected)
        #expect(response.results.allSatisfy { $0.stage == .reranked && $0.rerankScore != nil && $0.episode.agentID == "agent" })
        for r in response.results { #expect(abs(r.finalScore - fused[r.episode.id]!) < 1e-5) }
    }

    @Test func noCandidateIsLost() async throws {
        let f = try RetrievalFixture()
        defer { f.cleanup() }
        try await f.addSamples()
        // No time budget here: on two busy cores the first call (model loads) may take seconds.
        let response = try await f.retriever.retrieve(
            agentID: "agent", query: "Lisbon flight hotel",
            options: RetrievalOptions(coarseTopK: 6, rerankTopK: 3, timeBudgetMs: nil))
        #expect(response.fallbackReason == nil)
        let ids = response.results.map(\.episode.id)
        #expect(Set(ids).count == ids.count)
        let fq = try await f.service.fast.embedQuery("Lisbon flight hotel")
        let dense = try await f.store.similaritySearch(vector: fq, column: "vector_fastembed", topK: 6, agentID: "agent").map(\.episodeID)
        let lexical = try await f.store.lexicalSearch(query: "Lisbon flight hotel", topK: 6, agentID: "agent").map(\.episodeID)
        let qq = try await f.service.quality!.embedQuery("Lisbon flight hotel")
        let qualityTop = try await f.store.similaritySearch(vector: qq, column: "vector", topK: 6, agentID: "agent").map(\.episodeID)
        #expect(!dense.isEmpty && !lexical.isEmpty && !qualityTop.isEmpty)
        #expect(Set(dense + lexical + qualityTop).isSubset(of: Set(ids)))
        // A limit cuts the list, never the reranked head.
        var limited = RetrievalOptions(coarseTopK: 6, rerankTopK: 3, timeBudgetMs: nil)
        limited.limit = 2
        let short = try await f.retriever.retrieve(agentID: "agent", query: "Lisbon flight hotel", options: limited)
        #expect(short.results.map(\.episode.id) == Array(ids.prefix(2)))
    }

    @Test func missingQualityModelFallsBackToTheCoarseRanking() async throws {
        let f = try RetrievalFixture(qualityDirectory: URL(fileURLWithPath: "/nonexistent/quality-model"), qualityMode: .deferred)
        defer { f.cleanup() }
        try await f.addSamples()
        let retriever = f.retriever
        let response = try await retriever.retrieve(agentID: "agent", query: "flight to Lisbon")
        #expect(response.fallbackReason?.code == "model_unavailable")
        #expect(response.fallbackReason?.description.contains("model directory not found: /nonexistent/quality-model") == true)
        #expect(!response.results.isEmpty)
        #expect(response.results.allSatisfy { $0.stage == .coarseFallback && $0.rerankScore == nil })
        // The coarse ranking itself is what reranking off returns.
        let coarse = try await retriever.retrieve(agentID: "agent", query: "flight to Lisbon", options: .init(useReranking: false))
        #expect(coarse.results.map(\.episode.id) == response.results.map(\.episode.id))
        #expect(coarse.results.allSatisfy { $0.stage == .coarseOnly } && coarse.fallbackReason == nil)
        // Past the time budget, a known failure is still the reason given (it says what to fix).
        var late = RetrievalOptions(timeBudgetMs: 0.001)
        late.concurrentQueryEmbedding = false
        let lateResponse = try await retriever.retrieve(agentID: "agent", query: "flight to Lisbon", options: late)
        #expect(lateResponse.fallbackReason?.description.contains("model directory not found") == true)
    }

    @Test func aQualityModelThatFailsToLoadFallsBack() async throws {
        // Weights cut in half, as by an interrupted download.
        let broken = try TemporaryDirectory("broken-model")
        defer { broken.remove() }
        for name in ["config.json", "tokenizer.json", "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json"] {
            try FileManager.default.copyItem(
                at: Fixtures.tinyBert.appendingPathComponent(name), to: broken.url.appendingPathComponent(name))
        }
        let weights = try Data(contentsOf: Fixtures.tinyBert.appendingPathComponent("model.safetensors"))
        try weights.prefix(weights.count / 2).write(to: broken.url.appendingPathComponent("model.safetensors"))
        let f = try RetrievalFixture(qualityDirectory: broken.url, qualityMode: .deferred)
        defer { f.cleanup() }
        try await f.addSamples()
        let response = try await f.retriever.retrieve(agentID: "agent", query: "dog food allergy")
        #expect(response.fallbackReason?.description.contains("corrupt") == true)
        #expect(!response.results.isEmpty && response.results.allSatisfy { $0.stage == .coarseFallback })
        #expect(response.results.first?.episode.id == "agent-5")
    }

    @Test func timeBudgetExceededFallsBack() async throws {
        let f = try RetrievalFixture()
        defer { f.cleanup() }
        try await f.addSamples()
        var options = RetrievalOptions()
        options.timeBudgetMs = 0.001
        let response = try await f.retriever.retrieve(agentID: "agent", query: "database migration", options: options)
        #expect(response.fallbackReason?.code == "time_budget_exceeded")
        #expect(!response.results.isEmpty && response.results.allSatisfy { $0.stage == .coarseFallback })
    }

    @Test func candidatesWithoutQualityVectorsAreEmbeddedOnDemandInOneTransaction() async throws {
        let f = try RetrievalFixture(qualityMode: .deferred)
        defer { f.cleanup() }
        try await f.addSamples()
        #expect(try await f.store.vectorCount(column: "vector", agentID: nil) == 0)
        var options = RetrievalOptions(coarseTopK: 10, rerankTopK: 4, timeBudgetMs: nil)
        options.qualityScanLimit = 0
        let response = try await f.retriever.retrieve(agentID: "agent", query: "invoice paid", options: options)
        #expect(response.fallbackReason == nil)
        let reranked = response.results.filter { $0.stage == .reranked }
        #expect(reranked.count == 4)
        #expect(try await f.store.vectorCount(column: "vector", agentID: nil) == 4)
        var stamps = Set<Date>()
        for r in reranked {
            let stored = try #require(try await f.store.episode(agentID: "agent", id: r.episode.id))
            #expect(stored.embeddingCached)
            stamps.insert(stored.embeddingCachedAt!)
        }
        #expect(stamps.count == 1) // written together
    }

    @Test func baselineIsFastVectorSearchOnly() async throws {
        let f = try RetrievalFixture()
        defer { f.cleanup() }
        try await f.addSamples()
        let baseline = try await f.retriever.retrieveBaseline(agentID: "agent", query: "dog food", topK: 3)
        let fq = try await f.service.fast.embedQuery("dog food")
        let direct = try await f.store.similaritySearch(vector: fq, column: "vector_fastembed", topK: 3, agentID: "agent")
        #expect(baseline.results.map(\.episode.id) == direct.map(\.episodeID))
        #expect(baseline.results.count == 3 && baseline.results.allSatisfy { $0.stage == .coarseOnly })
    }

    @Test func badRequestsAreTypedErrors() async throws {
        let f = try RetrievalFixture()
        defer { f.cleanup() }
        try await f.addSamples()
        let retriever = f.retriever
        await #expect(throws: RetrievalError.emptyQuery) { try await retriever.retrieve(agentID: "agent", query: "  ") }
        await #expect(throws: StoreError.unknownAgent("ghost")) { try await retriever.retrieve(agentID: "ghost", query: "x") }
        await #expect(throws: RetrievalError.self) {
            try await retriever.retrieve(agentID: "agent", query: "x", options: .init(coarseTopK: 5, rerankTopK: 6))
        }
        await #expect(throws: RetrievalError.self) { try await retriever.retrieveBaseline(agentID: "agent", query: "x", topK: 0) }
    }
}
