import EpisodicMemory
import Foundation

extension Evaluator {
    /// Writes, per query, every candidate of the hybrid pipeline with the score each stage gives it
    /// — the fast and quality cosines of *every* candidate (not only of each stage's top-K) and the
    /// BM25 score wherever the document matches — plus its relevance grade and the rank each stage
    /// gave it: what a fusion function sees, so that fusion functions can be compared offline
    /// without embedding anything again. One JSON object per line:
    /// `{"query", "agent", "category", "candidates": [{"id", "rel", "dense", "lexical", "quality",
    /// "ranks": {"dense", "lexical", "quality"}}]}` (absent scores are null).
    public func dumpCandidates(to url: URL, progress: (Int, Int) -> Void = { _, _ in }) async throws {
        guard let fast = memory.column(role: .fast)?.name, let quality = memory.column(role: .quality)?.name else {
            throw RetrievalError.noColumn(role: "fast and quality")
        }
        FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        var o = options
        o.limit = nil
        o.useReranking = true
        let agentSizes = try await memory.agentEpisodeCounts()
        for (index, query) in dataset.queries.enumerated() {
            let response = try await memory.retrieve(agentID: query.agent, query: query.text, options: o)
            let everyone = max(1, agentSizes[query.agent] ?? 1)
            // Whole-agent score lists: each stage's score of every candidate, not only its top-K.
            let dense = Dictionary(
                try await memory.search(agentID: query.agent, column: fast, query: query.text, topK: everyone)
                    .map { ($0.episode.id, $0.score) }, uniquingKeysWith: { a, _ in a })
            let qualityScores = Dictionary(
                try await memory.search(agentID: query.agent, column: quality, query: query.text, topK: everyone)
                    .map { ($0.episode.id, $0.score) }, uniquingKeysWith: { a, _ in a })
            let lexical = Dictionary(
                try await memory.lexicalSearch(agentID: query.agent, query: query.text, topK: min(everyone, 10_000))
                    .map { ($0.episode.id, $0.score) }, uniquingKeysWith: { a, _ in a })
            let relevance = dataset.qrels[query.id] ?? [:]
            let candidates: [[String: Any]] = response.results.map { r in
                let id = r.episode.id
                var ranks: [String: Any] = [:]
                if let v = r.ranks.dense { ranks["dense"] = v }
                if let v = r.ranks.lexical { ranks["lexical"] = v }
                if let v = r.ranks.quality { ranks["quality"] = v }
                return [
                    "id": id, "rel": relevance[id] ?? 0,
                    "dense": dense[id] ?? NSNull(), "lexical": lexical[id] ?? NSNull(),
                    "quality": qualityScores[id] ?? NSNull(), "ranks": ranks,
                ]
            }
            // Relevant documents no stage brought in count against recall: name them too.
            let found = Set(response.results.map(\.episode.id))
            let missed = relevance.filter { $0.value > 0 && !found.contains($0.key) }.count
            let line: [String: Any] = [
                "query": query.id, "agent": query.agent, "category": query.category ?? NSNull(),
                "agent_size": everyone, "relevant_missed": missed, "candidates": candidates,
            ]
            var data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
            data.append(0x0A)
            try handle.write(contentsOf: data)
            progress(index + 1, dataset.queries.count)
        }
    }
}
