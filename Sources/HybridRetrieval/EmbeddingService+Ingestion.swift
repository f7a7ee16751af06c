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
        let mode = qualityMode ?? configuration.qualityMode
        for item in items { try store.validate(item.episode) }
        var batch = items
        let needFast = batch.indices.filter { batch[$0].vectors[fast.column.name] == nil }
        if !needFast.isEmpty {
            let vectors = try fast.embedPassages(needFast.map { batch[$0].episode.embeddedText })
            for (i, v) in zip(needFast, vectors) { batch[i].vectors[fast.column.name] = v }
        }
        var needQuality: [Int] = []
        if let quality {
            needQuality = batch.indices.filter { batch[$0].vectors[quality.column.name] == nil }
            if mode == .synchronous && !needQuality.isEmpty {
                do {
                    let vectors = try quality.embedPassages(needQuality.map { batch[$0].episode.embeddedText })
                    for (i, v) in zip(needQuality, vectors) { batch[i].vectors[quality.column.name] = v }
                    needQuality = []
                } catch {
                    logger.warning("quality vectors left for backfill: \(error)")
                }
            }
        }
        let stored = try await store.add(batch)
        for (item, episode) in zip(batch, stored) {
            let key = EpisodeKey(episode)
            if let v = item.vectors[fast.column.name] { fast.remember(v, for: key, storedAt: episode.fastembedCachedAt) }
            if let quality, let v = item.vectors[quality.column.name] { quality.remember(v, for: key, storedAt: episode.embeddingCachedAt) }
        }
        if mode == .background, let quality, !needQuality.isEmpty {
            let pending = needQuality.map { stored[$0] }
            background.run { [self] in
                do {
                    let vectors = try quality.embedPassages(pending.map(\.embeddedText))
                    try await store.setVectors(
                        zip(pending, vectors).map { EpisodeVector(agentID: $0.agentID, episodeID: $0.id, vector: $1) },
                        column: quality.column.name)
                } catch {
                    logger.warning("background quality embedding failed; left for backfill: \(error)")
                }
            }
        }
        return stored
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
            let vectors = try embedder.embedPassages(missing.map(\.embeddedText))
            let stored = try await store.setVectors(
                zip(missing, vectors).map { EpisodeVector(agentID: $0.agentID, episodeID: $0.id, vector: $1) }, column: column)
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
}
