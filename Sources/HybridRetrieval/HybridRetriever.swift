import Dispatch
import EpisodeStore
import Foundation
import Logging
import Synchronization
import VectorSearch

/// Two-stage retrieval within one agent's episodes:
///
/// 1. **Coarse**: the query's fast vector → top-K by the fast column; BM25 → top-K; the two
///    rankings fused by reciprocal rank (lexical evidence — names, dates, specifics — is where
///    dense retrieval alone loses on agent memory). Agents small enough for an exact scan of
///    their quality vectors also contribute the quality top-K, so the fast model's recall does
///    not cap the result.
/// 2. **Rerank**: the first `rerankTopK` candidates (and the quality top-K) get the quality
///    cosine; the final order fuses the quality ranking with the dense and lexical rankings
///    (sorting by the quality model alone would throw the lexical signal away).
///
/// The quality stage is optional: when its model is missing, fails, or the time budget runs
/// out, the coarse ranking is returned tagged `coarse_fallback` with the reason — never an error.
/// No candidate is ever lost: candidates beyond the rerank set follow, tagged `coarse_only`.
public final class HybridRetriever: Sendable {
    public let service: EmbeddingService
    private let logger = Logger(label: "episodic.retrieval")

    public init(service: EmbeddingService) {
        self.service = service
    }

    var store: SQLiteEpisodeStore { service.store }

    /// Hybrid retrieval; see the type's documentation.
    public func retrieve(agentID: String, query: String, options: RetrievalOptions = .init()) async throws -> RetrievalResponse {
        try options.validate()
        guard !query.allSatisfy(\.isWhitespace) else { throw RetrievalError.emptyQuery }
        let start = DispatchTime.now().uptimeNanoseconds
        var timings = StageTimings()
        var fallback: String?

        // The lexical search needs no embedding: it runs beside them (SQLite on one core fills
        // the gaps of the embeddings' parallel sections), and is usually done when needed.
        let lexicalTask: Task<Result<([(episodeID: String, score: Double)], Double), Error>, Never>? =
            options.lexical ? Task { [store] in
                let t0 = DispatchTime.now().uptimeNanoseconds
                return Result { (try store.lexicalSearch(query: query, topK: options.coarseTopK, agentID: agentID), Self.ms(since: t0)) }
            } : nil

        // Query embeddings: the quality model's in a concurrent task when the rerank needs it.
        let qualityWanted = options.useReranking && service.qualityModel != nil
        let embedQuality: @Sendable () -> Result<([Float], Double), Error> = { [service] in
            let t0 = DispatchTime.now().uptimeNanoseconds
            return Result { (try service.qualityQueryEmbedding(query), Self.ms(since: t0)) }
        }
        var qualityTask: Task<Result<([Float], Double), Error>, Never>?
        var qualityDone: Result<([Float], Double), Error>?
        if qualityWanted && options.concurrentQueryEmbedding { qualityTask = Task { embedQuality() } }
        if options.useReranking && service.qualityModel == nil { fallback = "the store has no quality column" }
        let fastStart = DispatchTime.now().uptimeNanoseconds
        let fastVector = try service.fastQueryEmbedding(query)
        timings.fastEmbeddingMs = Self.ms(since: fastStart)
        if qualityWanted && !options.concurrentQueryEmbedding {
            // Sequential: the quality embedding after the fast one, in this task (the lexical
            // search meanwhile uses what the embedding's parallel sections leave idle).
            qualityDone = embedQuality()
        }

        // Coarse: dense and lexical candidates, fused.
        let coarseStart = DispatchTime.now().uptimeNanoseconds
        let denseStart = coarseStart
        let dense = try store.similaritySearch(vector: fastVector, column: service.fastColumn.name, topK: options.coarseTopK, agentID: agentID)
        timings.denseMs = Self.ms(since: denseStart)
        var lexical: [(episodeID: String, score: Double)] = []
        if let lexicalTask {
            (lexical, timings.lexicalMs) = try await lexicalTask.value.get()
        }
        var candidates = Self.fuseCoarse(dense: dense, lexical: lexical, k: options.fusionK)
        timings.coarseMs = Self.ms(since: coarseStart)
        // Episode rows, read once: those the rerank must embed, then the rest for the results.
        var episodes: [String: Episode] = [:]

        // Rerank with the quality vectors, within the time budget.
        var reranked: [String: Float] = [:]
        if qualityWanted {
            let budgetLeft = options.timeBudgetMs.map { $0 - Self.ms(since: start) }
            var quality = qualityDone
            if let qualityTask { quality = await Self.value(of: qualityTask, within: budgetLeft) }
            // A failure is reported as such even past the budget: it says what to fix.
            if case .success = quality, let budgetLeft, budgetLeft <= 0 { quality = nil }
            switch quality {
            case .none:
                fallback = "time budget of \(Int(options.timeBudgetMs ?? 0)) ms exceeded while embedding the query with the quality model"
            case .some(.failure(let error)):
                fallback = "\(error)"
            case .some(.success(let (qualityVector, qualityMs))):
                timings.qualityEmbeddingMs = qualityMs
                let rerankStart = DispatchTime.now().uptimeNanoseconds
                do {
                    reranked = try rerank(candidates: &candidates, episodes: &episodes, qualityVector: qualityVector,
                                          agentID: agentID, options: options)
                    if let budget = options.timeBudgetMs, Self.ms(since: start) > budget {
                        reranked = [:]
                        fallback = "time budget of \(Int(budget)) ms exceeded while reranking"
                    }
                } catch {
                    fallback = "\(error)"
                }
                timings.rerankMs = Self.ms(since: rerankStart)
            }
            // Concurrent embeddings take as long as the slower one; sequential ones add up.
            timings.queryEmbeddingMs = options.concurrentQueryEmbedding
                ? max(timings.fastEmbeddingMs, timings.qualityEmbeddingMs)
                : timings.fastEmbeddingMs + timings.qualityEmbeddingMs
        } else {
            timings.queryEmbeddingMs = timings.fastEmbeddingMs
        }
        if let fallback { logger.debug("coarse fallback: \(fallback)", metadata: ["agent": "\(agentID)"]) }

        let results = try finalize(candidates, episodes: &episodes, reranked: reranked, options: options,
                                   fallback: fallback != nil && options.useReranking)
        timings.totalMs = Self.ms(since: start)
        return RetrievalResponse(results: results, timings: timings, fallbackReason: fallback)
    }

    /// The A/B baseline: the fast vector's top-K, nothing else.
    public func retrieveBaseline(agentID: String, query: String, topK: Int = 100) async throws -> RetrievalResponse {
        guard topK > 0 else { throw RetrievalError.invalidParameter("top_k must be positive, got \(topK)") }
        guard !query.allSatisfy(\.isWhitespace) else { throw RetrievalError.emptyQuery }
        let start = DispatchTime.now().uptimeNanoseconds
        var timings = StageTimings()
        let vector = try service.fastQueryEmbedding(query)
        timings.fastEmbeddingMs = Self.ms(since: start)
        timings.queryEmbeddingMs = timings.fastEmbeddingMs
        let searchStart = DispatchTime.now().uptimeNanoseconds
        let hits = try store.similaritySearch(vector: vector, column: service.fastColumn.name, topK: topK, agentID: agentID)
        timings.denseMs = Self.ms(since: searchStart)
        timings.coarseMs = timings.denseMs
        let episodes = Dictionary(try store.episodes(ids: hits.map(\.episodeID)).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let results = hits.compactMap { hit in
            episodes[hit.episodeID].map {
                RetrievedEpisode(episode: $0, denseScore: hit.score, lexicalScore: nil, coarseScore: Double(hit.score),
                                 rerankScore: nil, finalScore: Double(hit.score), stage: .coarseOnly)
            }
        }
        timings.totalMs = Self.ms(since: start)
        return RetrievalResponse(results: results, timings: timings, fallbackReason: nil)
    }

    // MARK: - Stages

    /// A candidate with its rank (1-based) and score in each coarse list.
    struct Candidate {
        var id: String
        var denseRank: Int?
        var denseScore: Float?
        var lexicalRank: Int?
        var lexicalScore: Double?
        var qualityRank: Int?
        var coarseScore: Double = 0
    }

    /// Reciprocal-rank fusion of the dense and lexical lists: Σ 1/(k + rank); ties by id.
    static func fuseCoarse(dense: [ScoredEpisode], lexical: [(episodeID: String, score: Double)], k: Double) -> [Candidate] {
        var byID: [String: Candidate] = [:]
        for (rank, hit) in dense.enumerated() {
            byID[hit.episodeID, default: Candidate(id: hit.episodeID)].denseRank = rank + 1
            byID[hit.episodeID]!.denseScore = hit.score
        }
        for (rank, hit) in lexical.enumerated() {
            byID[hit.episodeID, default: Candidate(id: hit.episodeID)].lexicalRank = rank + 1
            byID[hit.episodeID]!.lexicalScore = hit.score
        }
        var candidates = Array(byID.values)
        for i in candidates.indices {
            candidates[i].coarseScore = (candidates[i].denseRank.map { 1 / (k + Double($0)) } ?? 0)
                + (candidates[i].lexicalRank.map { 1 / (k + Double($0)) } ?? 0)
        }
        candidates.sort { $0.coarseScore != $1.coarseScore ? $0.coarseScore > $1.coarseScore : $0.id < $1.id }
        return candidates
    }

    /// Scores the rerank set with the quality vectors (embedding and caching any that are
    /// missing) and records each candidate's quality rank. Returns quality scores by id.
    /// `episodes` holds the rows read so far; rows it lacks are read and added.
    func rerank(candidates: inout [Candidate], episodes: inout [String: Episode], qualityVector: [Float], agentID: String,
                options: RetrievalOptions) throws -> [String: Float] {
        guard let qualityColumn = service.qualityColumn else { return [:] }
        var rerankIDs = candidates.prefix(options.rerankTopK).map(\.id)
        var scores: [String: Float] = [:]
        // Small agents: the quality vectors' own top-K joins the candidates.
        let qualityIndex = try store.index(column: qualityColumn.name)
        if qualityIndex.count(agentID: agentID) <= options.qualityScanLimit {
            let qualityHits = try qualityIndex.search(qualityVector, agentID: agentID, topK: options.coarseTopK)
            var known = Set(candidates.map(\.id))
            for hit in qualityHits {
                scores[hit.episodeID] = hit.score
                if known.insert(hit.episodeID).inserted { candidates.append(Candidate(id: hit.episodeID)) }
                rerankIDs.append(hit.episodeID)
            }
        }
        var seen = Set<String>()
        rerankIDs = rerankIDs.filter { seen.insert($0).inserted }
        let unscored = rerankIDs.filter { scores[$0] == nil }
        if !unscored.isEmpty {
            // Candidates without a stored quality vector are embedded now and cached.
            try read(unscored, into: &episodes)
            let vectors = try service.qualityEmbeddings(for: unscored.compactMap { episodes[$0] })
            for id in unscored {
                guard let v = vectors[id] else { continue }
                scores[id] = VectorKernels.dot(v, qualityVector)
            }
        }
        let ordered = scores.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        var rankOf: [String: Int] = [:]
        for (rank, entry) in ordered.enumerated() { rankOf[entry.key] = rank + 1 }
        for i in candidates.indices { candidates[i].qualityRank = rankOf[candidates[i].id] }
        return scores
    }

    /// Orders the candidates: reranked ones by the fusion of their dense, lexical and quality
    /// ranks, then every other candidate in coarse order, with their episodes (`episodes`, plus
    /// any rows it lacks).
    func finalize(_ candidates: [Candidate], episodes: inout [String: Episode], reranked: [String: Float],
                  options: RetrievalOptions, fallback: Bool) throws -> [RetrievedEpisode] {
        let k = options.fusionK
        var scored = candidates.map { c -> (Candidate, Double, Bool) in
            guard !reranked.isEmpty, let q = c.qualityRank else { return (c, c.coarseScore, false) }
            let fused = options.denseWeight * (c.denseRank.map { 1 / (k + Double($0)) } ?? 0)
                + options.lexicalWeight * (c.lexicalRank.map { 1 / (k + Double($0)) } ?? 0)
                + options.qualityWeight / (k + Double(q))
            return (c, fused, true)
        }
        scored.sort { a, b in
            if a.2 != b.2 { return a.2 }  // reranked candidates first
            return a.1 != b.1 ? a.1 > b.1 : a.0.id < b.0.id
        }
        if let limit = options.limit, scored.count > limit { scored.removeLast(scored.count - limit) }
        try read(scored.map(\.0.id), into: &episodes)
        return scored.compactMap { candidate, final, isReranked in
            guard let episode = episodes[candidate.id] else { return nil } // deleted meanwhile
            let stage: RetrievalStage = isReranked ? .reranked : (fallback ? .coarseFallback : .coarseOnly)
            return RetrievedEpisode(episode: episode, denseScore: candidate.denseScore, lexicalScore: candidate.lexicalScore,
                                    coarseScore: candidate.coarseScore, rerankScore: reranked[candidate.id], finalScore: final, stage: stage)
        }
    }

    // MARK: - Helpers

    /// Adds to `episodes` the rows of `ids` it lacks (deleted episodes stay absent).
    func read(_ ids: [String], into episodes: inout [String: Episode]) throws {
        let missing = ids.filter { episodes[$0] == nil }
        guard !missing.isEmpty else { return }
        for episode in try store.episodes(ids: missing) { episodes[episode.id] = episode }
    }

    static func ms(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 }

    /// The task's value, or nil if it does not finish within `milliseconds` (the task goes on,
    /// its result unused: CPU-bound embedding cannot be interrupted).
    static func value<T: Sendable>(of task: Task<T, Never>, within milliseconds: Double?) async -> T? {
        guard let milliseconds else { return await task.value }
        if milliseconds <= 0 { return nil }
        return await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            let once = ResumeOnce(continuation)
            let timer = Task {
                try? await Task.sleep(nanoseconds: UInt64(milliseconds * 1e6))
                once.resume(with: nil)
            }
            Task {
                let value = await task.value
                once.resume(with: value)
                timer.cancel()
            }
        }
    }
}

/// Resumes a continuation with the first value offered; later offers are ignored.
final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T?, Never>?>

    init(_ continuation: CheckedContinuation<T?, Never>) { self.continuation = Mutex(continuation) }

    func resume(with value: T?) {
        continuation.withLock { c in
            c?.resume(returning: value)
            c = nil
        }
    }
}
