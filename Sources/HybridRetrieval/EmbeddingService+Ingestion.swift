import EpisodeStore
import Foundation
import TextEmbedding
import VectorSearch

extension EmbeddingService {
    /// Adds episodes in one transaction with their fast vectors (computed unless given) and their
    /// quality vectors in the same transaction, in the background, or later, per `qualityMode`
    /// (default: the configuration's). A quality model that cannot load never fails the add: the
    /// vector is left for backfill.
    @discardableResult
    public func add(_ items: [NewEpisode], qualityMode: QualityEmbeddingMode? = nil) async throws -> [Episode] {
        try await insert(items, qualityMode: qualityMode).map(\.episode)
    }

    /// ``add(_:qualityMode:)`` for writes that may find an existing episode (idempotent ids,
    /// `dedup`): each item's outcome, in order.
    public func insert(_ items: [NewEpisode], qualityMode: QualityEmbeddingMode? = nil) async throws -> [Insertion] {
        let mode = qualityMode ?? configuration.qualityMode
        for item in items { try store.validate(item.episode) }
        var batch = items
        // A retried write finds its episode stored: its text need not be embedded again.
        var known = Set<[String]>()
        for (agent, group) in Dictionary(grouping: batch.filter(\.idempotent), by: \.episode.agentID) {
            for episode in try await store.episodes(agentID: agent, ids: group.map(\.episode.id)) { known.insert([agent, episode.id]) }
        }
        let isKnown = { (item: NewEpisode) in known.contains([item.episode.agentID, item.episode.id]) }
        let needFast = batch.indices.filter { batch[$0].vectors[fast.column.name] == nil && !isKnown(batch[$0]) }
        var needQuality: [Int] = []
        if let quality { needQuality = batch.indices.filter { batch[$0].vectors[quality.column.name] == nil && !isKnown(batch[$0]) } }
        let qualityTexts = mode == .synchronous ? needQuality.map { batch[$0].episode.embeddedText } : []
        // With a batcher (a server) both models' passages queue at once and the engine runs their
        // passes back to back: the write waits for the queue once, not once per model. Without
        // one, the passes run one after the other (side by side they would split the cores).
        async let queuedQuality = batcher != nil ? embedQualityPassages(qualityTexts) : nil
        if !needFast.isEmpty {
            let vectors = try await fast.embedPassages(needFast.map { batch[$0].episode.embeddedText })
            for (i, v) in zip(needFast, vectors) { batch[i].vectors[fast.column.name] = v }
        }
        let qualityResult = batcher != nil ? await queuedQuality : await embedQualityPassages(qualityTexts)
        if let quality, let qualityResult {
            switch qualityResult {
            case .success(let vectors):
                for (i, v) in zip(needQuality, vectors) { batch[i].vectors[quality.column.name] = v }
                needQuality = []
            case .failure(let error):
                logger.warning("quality vectors left for backfill: \(error)")
            }
        }
        // The vectors of a known id are there only for the store's checks; not stored again.
        for i in batch.indices where isKnown(batch[i]) { batch[i].vectors = [:] }
        var outcomes = try await store.insert(batch)
        // Known ids deleted between the check and the write were added without vectors: give them theirs.
        let lost = outcomes.indices.filter { outcomes[$0].created && isKnown(batch[$0]) }
        if !lost.isEmpty {
            let episodes = lost.map { outcomes[$0].episode }
            let vectors = try await fast.embedPassages(episodes.map(\.embeddedText))
            try await store.setVectors(zip(episodes, vectors).map { EpisodeVector(of: $0, vector: $1) }, column: fast.column.name)
            for (i, v) in zip(lost, vectors) {
                batch[i].vectors[fast.column.name] = v
                outcomes[i].episode.setVectorCached(.fast, at: EpisodeTime.truncated(Date()))
            }
            needQuality += lost
        }
        let stored = outcomes.map(\.episode)
        needQuality = needQuality.filter { outcomes[$0].created }
        for (item, outcome) in zip(batch, outcomes) where outcome.created {
            let episode = outcome.episode
            let key = EpisodeKey(episode)
            if let v = item.vectors[fast.column.name] { fast.remember(v, for: key, storedAt: episode.fastembedCachedAt) }
            if let quality, let v = item.vectors[quality.column.name] { quality.remember(v, for: key, storedAt: episode.embeddingCachedAt) }
        }
        if mode == .background, let quality, !needQuality.isEmpty {
            let pending = needQuality.map { stored[$0] }
            background.run { [self] in
                do {
                    let vectors = try await quality.embedPassages(pending.map(\.embeddedText))
                    try await store.setVectors(
                        zip(pending, vectors).map { EpisodeVector(of: $0, vector: $1) },
                        column: quality.column.name)
                } catch {
                    logger.warning("background quality embedding failed; left for backfill: \(error)")
                }
            }
        }
        return outcomes
    }

    /// Applies `patch` to the episode `id` of `agentID` and stores it in one transaction with the
    /// vectors of its new text: the fast one recomputed; the quality one recomputed too in
    /// `.synchronous` mode, otherwise removed (and recomputed in the background, by backfill, or
    /// by the first rerank that needs it) — a retrieval never scores new text with an old
    /// vector. Cached vectors are dropped. A concurrent change to the same episode makes it
    /// start over from the newer version (at most four times).
    public func update(agentID: String, id: String, patch: EpisodePatch, qualityMode: QualityEmbeddingMode? = nil) async throws -> Episode {
        let mode = qualityMode ?? configuration.qualityMode
        for attempt in 0..<4 {
            guard let current = try await store.episode(agentID: agentID, id: id) else { throw StoreError.episodeNotFound(id) }
            let changed = patch.applied(to: current)
            try store.validate(changed)
            var vectors: [String: [Float]] = [:]
            var stale: [String] = []
            let newText = changed.embeddedText != current.embeddedText
            if newText {
                vectors[fast.column.name] = try await fast.embedPassages([changed.embeddedText])[0]
                if let quality {
                    if mode == .synchronous, let v = try? await quality.embedPassages([changed.embeddedText])[0] {
                        vectors[quality.column.name] = v
                    } else {
                        stale.append(quality.column.name)
                    }
                }
            }
            let stored: Episode?
            do {
                stored = try await store.update(changed, expectedUpdatedAt: current.updatedAt, vectors: vectors, staleColumns: stale)
            } catch StoreError.concurrentUpdate(_) where attempt < 3 {
                continue
            }
            guard let stored else { throw StoreError.episodeNotFound(id) }
            let key = EpisodeKey(stored)
            forget(key)
            if let v = vectors[fast.column.name] { fast.remember(v, for: key, storedAt: stored.fastembedCachedAt) }
            if let quality, let v = vectors[quality.column.name] { quality.remember(v, for: key, storedAt: stored.embeddingCachedAt) }
            if mode == .background, let quality, !stale.isEmpty {
                background.run { [self] in
                    do {
                        let v = try await quality.embedPassages([stored.embeddedText])[0]
                        try await store.setVectors([EpisodeVector(of: stored, vector: v)], column: quality.column.name)
                    } catch {
                        logger.warning("background quality embedding failed; left for backfill: \(error)")
                    }
                }
            }
            return stored
        }
        throw StoreError.concurrentUpdate(id)
    }

    /// Computes every missing vector of `role`'s column, `batchSize` episodes per transaction.
    /// Safe to interrupt and rerun: each batch commits on its own and only missing vectors are
    /// computed. Calls `progress(done, total)` after each batch.
    @discardableResult
    public func backfill(role: VectorRole, batchSize: Int = 64, progress: @Sendable (Int, Int) -> Void = { _, _ in }) async throws -> Int {
        guard let embedder = embedder(role) else { throw RetrievalError.noColumn(role: role.rawValue) }
        return try await fill(column: embedder.column.name, with: embedder, batchSize: batchSize, progress: progress)
    }

    /// Embeds the episodes missing a vector in `column` with `embedder`, batch by batch.
    func fill(column: String, with embedder: ColumnEmbedder, batchSize: Int, progress: @Sendable (Int, Int) -> Void) async throws -> Int {
        let total = try await store.stats().episodes - store.vectorCount(column: column, agentID: nil)
        var done = 0
        while true {
            let missing = try await store.episodesMissingVector(column: column, limit: max(1, batchSize))
            if missing.isEmpty { break }
            let vectors = try await embedder.embedPassages(missing.map(\.embeddedText))
            let stored = try await store.setVectors(
                zip(missing, vectors).map { EpisodeVector(of: $0, vector: $1) }, column: column)
            if stored == 0 { break } // every one deleted meanwhile: the next query finds the rest
            done += missing.count
            progress(done, max(total, done))
        }
        return done
    }

    /// Re-embeds `role`'s column with the model in `directory`: a staging column receives the new
    /// vectors batch by batch (an interrupted run resumes where it stopped), and the column's
    /// model id, hash and dimension change only when every episode has its new vector — in the
    /// transaction that swaps them in. Searches use the old vectors until then.
    ///
    /// Returns the vectors computed by this run. The store must be reopened afterwards (its
    /// columns changed); this process's writes to the old column are refused from then on.
    public func reembed(
        role: VectorRole, modelID: String, directory: URL, batchSize: Int = 64,
        progress: @Sendable (Int, Int) -> Void = { _, _ in }
    ) async throws -> Int {
        guard let current = embedder(role) else { throw RetrievalError.noColumn(role: role.rawValue) }
        let model = try ModelDirectory(url: directory)
        let target = VectorColumn(
            name: current.column.name, role: role, dimension: model.dimension, modelID: modelID,
            modelSHA256: try ModelFingerprint.sha256(ofModelIn: directory))
        // Already on that model (same weights): nothing to recompute.
        if current.column.modelSHA256 == target.modelSHA256 && current.column.dimension == target.dimension { return 0 }
        let staging = try await store.beginReembedding(of: current.column.name, with: target)
        let embedder = ColumnEmbedder(
            column: staging, model: ColumnModel(column: staging, directory: directory, threads: configuration.threads),
            cacheCapacity: 1)
        var done = 0
        repeat {
            done += try await fill(column: staging.name, with: embedder, batchSize: batchSize, progress: progress)
        } while try await !store.finishReembedding(of: current.column.name)
        return done
    }

    /// The quality model's vectors of `texts` (nil: no texts, or no quality model), its failure as
    /// a value: a write never fails for want of a quality vector.
    private func embedQualityPassages(_ texts: [String]) async -> Result<[[Float]], Error>? {
        guard let quality, !texts.isEmpty else { return nil }
        do {
            return .success(try await quality.embedPassages(texts))
        } catch {
            return .failure(error)
        }
    }
}
