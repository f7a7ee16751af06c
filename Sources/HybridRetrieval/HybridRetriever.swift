import Dispatch
import EpisodeStore
import Foundation
import Logging
import VectorSearch

/// Two-stage retrieval within one agent's episodes:
///
/// 1. **Coarse**: the query's fast vector → top-K by the fast column; full text → top-K; the two
///    rankings fused (``RankFusion/coarse(dense:lexical:k:)``; lexical evidence — names, dates,
///    specifics — is where dense retrieval alone loses on agent memory). Agents small enough for
///    an exact scan of their quality vectors also contribute the quality top-K, so the fast
///    model's recall does not cap the result.
/// 2. **Rerank**: every candidate (with ``FusionMethod/rrf``: the coarse order's first
///    `rerankTopK`) gets the quality cosine; the final order fuses the stages' per-query normalised
///    scores (``ScoreFusion/fuse(_:weights:normalization:)``, min–max, the three stages alike)
///    or their ranks (``RankFusion/final(_:k:weights:)``).
///
/// The quality stage is optional: when its model is missing, fails, or the time budget runs
/// out, the coarse ranking is returned tagged `coarse_fallback` with a ``FallbackReason`` —
/// never an error. No candidate is ever lost: candidates beyond the rerank set follow, tagged
/// `coarse_only`.
public final class HybridRetriever: Sendable {
    public let service: EmbeddingService
    private let logger = Logger(label: "episodic.retrieval")

    public init(service: EmbeddingService) {
        self.service = service
    }

    var store: any EpisodeStoreBackend { service.store }

    /// Hybrid retrieval; see the type's documentation.
    public func retrieve(agentID: String, query: String, options: RetrievalOptions = .init()) async throws -> RetrievalResponse {
        try options.validate()
        guard !query.allSatisfy(\.isWhitespace) else { throw RetrievalError.emptyQuery }
        let start = DispatchTime.now().uptimeNanoseconds
        var timings = StageTimings()
        var fallback: FallbackReason?

        // The lexical search needs no embedding: it runs beside them (SQLite on one core fills
        // the gaps of the embeddings' parallel sections), and is usually done when needed.
        let lexicalTask: Task<Result<([LexicalHit], Double), Error>, Never>? =
            options.lexical
            ? Task { [store] in
                let t0 = DispatchTime.now().uptimeNanoseconds
                do {
                    return .success(
                        (
                            try await store.lexicalSearch(query: query, topK: options.coarseTopK, agentID: agentID, filter: options.filter),
                            Self.ms(since: t0)
                        ))
                } catch { return .failure(error) }
            } : nil

        // Query embeddings: the quality model's in a concurrent task when the rerank needs it.
        let quality = options.useReranking ? service.quality : nil
        if options.useReranking && quality == nil { fallback = .noQualityColumn }
        // With a batcher (a server) the forward passes run on its engine, one at a time: both
        // requests go in at once, and the quality one gives up if still queued past the budget.
        let batched = service.batcher != nil
        let deadline = options.timeBudgetMs.map { start + UInt64(max(0, $0) * 1e6) }
        let embedQuality: @Sendable () async -> Result<([Float], Double), Error>? = {
            guard let quality else { return nil }
            let t0 = DispatchTime.now().uptimeNanoseconds
            do {
                return .success((try await quality.embedQuery(query, deadline: batched ? deadline : nil), Self.ms(since: t0)))
            } catch {
                return .failure(error)
            }
        }
        var qualityTask: Task<Result<([Float], Double), Error>?, Never>?
        var qualityDone: Result<([Float], Double), Error>?
        let concurrent = options.concurrentQueryEmbedding || batched
        if quality != nil && concurrent { qualityTask = Task { await embedQuality() } }
        let fastStart = DispatchTime.now().uptimeNanoseconds
        let fastVector = try await service.fast.embedQuery(query)
        timings.fastEmbeddingMs = Self.ms(since: fastStart)
        // The dense search needs only the fast vector: it runs while the quality model embeds
        // (a short query's forward pass waits on memory part of the time), not after it.
        let denseTask = Task { [store, fastColumn = service.fast.column.name] in
            let t0 = DispatchTime.now().uptimeNanoseconds
            let hits = try await store.similaritySearch(
                vector: fastVector, column: fastColumn, topK: options.coarseTopK, agentID: agentID, filter: options.filter)
            return (hits, Self.ms(since: t0))
        }
        if quality != nil && !concurrent {
            // Sequential: the quality embedding after the fast one, in this task (the lexical
            // search meanwhile uses what the embedding's parallel sections leave idle).
            qualityDone = await embedQuality()
        }

        // Coarse: dense and lexical candidates, fused.
        let coarseStart = DispatchTime.now().uptimeNanoseconds
        let dense: [ScoredEpisode]
        (dense, timings.denseMs) = try await denseTask.value
        var lexical: [LexicalHit] = []
        if let lexicalTask { (lexical, timings.lexicalMs) = try await lexicalTask.value.get() }
        var candidates = RankFusion.coarse(dense: dense, lexical: lexical, k: options.fusionK)
        timings.coarseMs = Self.ms(since: coarseStart)
        // Episode rows, read once: those the rerank must score, then the rest for the results.
        var episodes: [String: Episode] = [:]

        // Rerank with the quality vectors, within the time budget.
        var reranked = false
        if let quality {
            let budgetLeft = options.timeBudgetMs.map { $0 - Self.ms(since: start) }
            var embedded = qualityDone
            if let qualityTask { embedded = await TaskDeadline.value(of: qualityTask, within: budgetLeft) ?? nil }
            // A failure is reported as such even past the budget: it says what to fix.
            if case .success = embedded, let budgetLeft, budgetLeft <= 0 { embedded = nil }
            switch embedded {
            case .none, .some(.failure(is EmbeddingBatcher.DeadlineExceeded)):
                fallback = .timeBudgetExceeded(stage: "query_embedding", budgetMs: options.timeBudgetMs ?? 0)
            case .some(.failure(let error)):
                fallback = .modelUnavailable("\(error)")
            case .some(.success(let (qualityVector, qualityMs))):
                timings.qualityEmbeddingMs = qualityMs
                let rerankStart = DispatchTime.now().uptimeNanoseconds
                do {
                    try await rerank(
                        &candidates, episodes: &episodes, qualityVector: qualityVector, quality: quality,
                        agentID: agentID, options: options)
                    reranked = true
                    if let budget = options.timeBudgetMs, Self.ms(since: start) > budget {
                        reranked = false
                        fallback = .timeBudgetExceeded(stage: "rerank", budgetMs: budget)
                    }
                } catch let error as RetrievalError {
                    fallback = .modelUnavailable("\(error)")
                } catch {
                    fallback = .rerankFailed("\(error)")
                }
                timings.rerankMs = Self.ms(since: rerankStart)
            }
            // Concurrent embeddings take as long as the slower one; sequential ones add up.
            timings.queryEmbeddingMs =
                concurrent
                ? max(timings.fastEmbeddingMs, timings.qualityEmbeddingMs)
                : timings.fastEmbeddingMs + timings.qualityEmbeddingMs
        } else {
            timings.queryEmbeddingMs = timings.fastEmbeddingMs
        }
        if let fallback { logger.debug("coarse fallback: \(fallback)", metadata: ["agent": "\(agentID)"]) }
        if !reranked {
            for i in candidates.indices { candidates[i].qualityRank = nil; candidates[i].qualityScore = nil }
        }
        if options.fusion == .scores {
            // Score fusion compares every candidate on every stage: the fast-vector score of the
            // candidates the dense top-K did not hold (found by BM25 or the quality scan) is
            // computed, not counted as the worst.
            let unscored = candidates.filter { $0.denseScore == nil }.map(\.id)
            if !unscored.isEmpty {
                let scores = try await store.scores(of: fastVector, column: service.fast.column.name, agentID: agentID, episodeIDs: unscored)
                for i in candidates.indices where candidates[i].denseScore == nil { candidates[i].denseScore = scores[candidates[i].id] }
            }
        }
        var ordered = Self.order(candidates, reranked: reranked, options: options)
        let crossScores = try await crossEncode(
            &ordered, query: query, agentID: agentID, episodes: &episodes, options: options, start: start, timings: &timings)
        var decays: [String: Double] = [:]
        if let halfLife = options.recencyHalfLife {
            // Every candidate's age counts, not only the first `limit`'s: recency may promote one.
            try await read(ordered.map(\.candidate.id), agentID: agentID, into: &episodes)
            let now = Date()
            let ages = episodes.mapValues { now.timeIntervalSince($0.createdAt) }
            decays = RankFusion.applyRecency(&ordered, ages: ages, halfLife: halfLife, weight: options.recencyWeight)
        }
        if let limit = options.limit, ordered.count > limit { ordered.removeLast(ordered.count - limit) }
        try await read(ordered.map(\.candidate.id), agentID: agentID, into: &episodes)
        let fellBack = fallback != nil && options.useReranking
        let results = ordered.compactMap { entry -> RetrievedEpisode? in
            guard let episode = episodes[entry.candidate.id] else { return nil } // deleted meanwhile
            let c = entry.candidate
            var result = RetrievedEpisode(
                episode: episode, denseScore: c.denseScore, lexicalScore: c.lexicalScore, coarseScore: c.coarseScore,
                rerankScore: c.qualityScore, finalScore: entry.score,
                stage: entry.reranked ? .reranked : (fellBack ? .coarseFallback : .coarseOnly))
            result.ranks = StageRanks(dense: c.denseRank, lexical: c.lexicalRank, quality: c.qualityRank)
            result.crossEncoderScore = crossScores[c.id]
            result.recencyScore = decays[c.id]
            return result
        }
        timings.totalMs = Self.ms(since: start)
        return RetrievalResponse(results: results, timings: timings, fallbackReason: fallback)
    }

    /// The A/B baseline: the fast vector's top-K, nothing else.
    public func retrieveBaseline(agentID: String, query: String, topK: Int = 100, filter: EpisodeFilter? = nil) async throws
        -> RetrievalResponse
    {
        guard topK > 0 else { throw RetrievalError.invalidParameter("top_k must be positive, got \(topK)") }
        guard !query.allSatisfy(\.isWhitespace) else { throw RetrievalError.emptyQuery }
        let start = DispatchTime.now().uptimeNanoseconds
        var timings = StageTimings()
        let vector = try await service.fast.embedQuery(query)
        timings.fastEmbeddingMs = Self.ms(since: start)
        timings.queryEmbeddingMs = timings.fastEmbeddingMs
        let searchStart = DispatchTime.now().uptimeNanoseconds
        let hits = try await store.similaritySearch(
            vector: vector, column: service.fast.column.name, topK: topK, agentID: agentID, filter: filter)
        timings.denseMs = Self.ms(since: searchStart)
        timings.coarseMs = timings.denseMs
        var episodes: [String: Episode] = [:]
        try await read(hits.map(\.episodeID), agentID: agentID, into: &episodes)
        let results = hits.enumerated().compactMap { rank, hit in
            episodes[hit.episodeID].map {
                var result = RetrievedEpisode(
                    episode: $0, denseScore: hit.score, lexicalScore: nil, coarseScore: Double(hit.score),
                    rerankScore: nil, finalScore: Double(hit.score), stage: .coarseOnly)
                result.ranks.dense = rank + 1
                return result
            }
        }
        timings.totalMs = Self.ms(since: start)
        return RetrievalResponse(results: results, timings: timings, fallbackReason: nil)
    }

    /// The final order of the candidates. Score fusion without the quality stage (coarse mode, a
    /// fallback) gives the fast model the larger of the dense weights: it is then the only dense
    /// evidence there is, and stands in for the quality model.
    static func order(_ candidates: [FusionCandidate], reranked: Bool, options: RetrievalOptions)
        -> [(candidate: FusionCandidate, score: Double, reranked: Bool)]
    {
        switch options.fusion {
        case .rrf:
            return RankFusion.final(candidates, k: options.fusionK, weights: options.effectiveWeights)
        case .scores:
            let weights = options.effectiveWeights
            let used = reranked ? weights : RankFusion.Weights(dense: max(weights.dense, weights.quality), lexical: weights.lexical, quality: 0)
            return ScoreFusion.fuse(candidates, weights: used, normalization: options.normalization, weighting: options.weighting)
        }
    }

    // MARK: - Stages

    /// The optional last stage: when a cross-encoder is installed and time is left, it scores the
    /// first `crossEncoderTopN` of the fused order against the query and its z-scores join their
    /// fused scores (``ScoreFusion/addCrossEncoder(_:logits:topN:weight:)``). Its logits by id.
    func crossEncode(
        _ ordered: inout [(candidate: FusionCandidate, score: Double, reranked: Bool)], query: String, agentID: String,
        episodes: inout [String: Episode], options: RetrievalOptions, start: UInt64, timings: inout StageTimings
    ) async throws -> [String: Float] {
        guard options.useReranking, options.crossEncoderTopN > 0, options.crossEncoderWeight > 0, !ordered.isEmpty else { return [:] }
        if let budget = options.timeBudgetMs, Self.ms(since: start) >= budget { return [:] }
        guard let model = service.crossEncoder.model() else { return [:] }
        let t0 = DispatchTime.now().uptimeNanoseconds
        defer { timings.crossEncoderMs = Self.ms(since: t0) }
        let top = ordered.prefix(options.crossEncoderTopN).map(\.candidate.id)
        try await read(top, agentID: agentID, into: &episodes)
        let present = top.filter { episodes[$0] != nil }
        let logits: [Float]
        do {
            logits = try model.scores(query: query, passages: present.map { episodes[$0]!.embeddedText })
        } catch {
            logger.warning("cross-encoder failed, its stage skipped: \(error)")
            return [:]
        }
        let scores = Dictionary(zip(present, logits), uniquingKeysWith: { a, _ in a })
        ScoreFusion.addCrossEncoder(&ordered, logits: scores.mapValues(Double.init), topN: options.crossEncoderTopN, weight: options.crossEncoderWeight)
        return scores
    }

    /// Scores the rerank set with the quality vectors (computing and storing any that are
    /// missing, in one transaction) and records each candidate's quality rank and score.
    func rerank(
        _ candidates: inout [FusionCandidate], episodes: inout [String: Episode], qualityVector: [Float],
        quality: ColumnEmbedder, agentID: String, options: RetrievalOptions
    ) async throws {
        // Score fusion needs every candidate's quality score (a missing one would count as the
        // worst); rank fusion reranks the coarse order's first `rerankTopK`.
        var rerankIDs = (options.fusion == .scores ? candidates[...] : candidates.prefix(options.rerankTopK)).map(\.id)
        var scores: [String: Float] = [:]
        // Small agents: the quality vectors' own top-K joins the candidates.
        if try await store.isSmallForExactScan(column: quality.column.name, agentID: agentID, limit: options.qualityScanLimit) {
            let qualityHits = try await store.similaritySearch(
                vector: qualityVector, column: quality.column.name,
                topK: options.coarseTopK, agentID: agentID, filter: options.filter)
            var known = Set(candidates.map(\.id))
            for hit in qualityHits {
                scores[hit.episodeID] = hit.score
                if known.insert(hit.episodeID).inserted { candidates.append(FusionCandidate(id: hit.episodeID)) }
                rerankIDs.append(hit.episodeID)
            }
        }
        var seen = Set<String>()
        let unscored = rerankIDs.filter { seen.insert($0).inserted && scores[$0] == nil }
        if !unscored.isEmpty {
            // Stored vectors are scored where they live (SQLite's in-memory index, pgvector): no
            // episode row is read for them — reading ~200 rows was most of this stage's time.
            let stored = try await store.scores(of: qualityVector, column: quality.column.name, agentID: agentID, episodeIDs: unscored)
            scores.merge(stored) { found, _ in found }
            let missing = unscored.filter { scores[$0] == nil }
            if !missing.isEmpty {
                try await read(missing, agentID: agentID, into: &episodes)
                // A missing quality vector is computed for the coarse order's first `rerankTopK`
                // only: a store whose quality vectors are deferred must not embed hundreds of
                // candidates per query. The others are scored when their vector is stored, else
                // follow unreranked.
                let vectors = try await service.vectors(
                    for: missing.compactMap { episodes[$0] }, in: quality, embedding: Set(candidates.prefix(options.rerankTopK).map(\.id)))
                for id in missing {
                    guard let v = vectors[id] else { continue }
                    scores[id] = VectorKernels.dot(v, qualityVector)
                }
            }
        }
        RankFusion.rankQuality(&candidates, scores: scores)
    }

    /// Adds to `episodes` the rows of `ids` it lacks (deleted episodes stay absent).
    func read(_ ids: [String], agentID: String, into episodes: inout [String: Episode]) async throws {
        let missing = ids.filter { episodes[$0] == nil }
        guard !missing.isEmpty else { return }
        for episode in try await store.episodes(agentID: agentID, ids: missing) { episodes[episode.id] = episode }
    }

    static func ms(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 }
}
