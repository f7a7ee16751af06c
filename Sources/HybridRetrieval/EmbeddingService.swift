import EpisodeStore
import Foundation
import Logging
import Synchronization
import TextEmbedding
import VectorSearch

/// When an added episode's quality vector is computed.
public enum QualityEmbeddingMode: String, Sendable, CaseIterable {
    /// In the same call and transaction as the episode (slower adds; nothing to backfill).
    case synchronous
    /// After the add returns, on a background task; cached when done.
    case background
    /// Not at add time: `episodic backfill` or the first rerank that needs it computes it.
    case deferred
}

/// Configuration of an ``EmbeddingService``.
public struct EmbeddingServiceConfiguration: Sendable {
    /// Episodes kept per column in the LRU cache.
    public var cacheCapacity: Int = 1000
    public var qualityMode: QualityEmbeddingMode = .synchronous
    /// Threads of the quality model's forward pass (attention and packed products).
    public var threads: Int = 1
    /// Threads of the fast model's forward pass (default: as many as `threads`). On two cores,
    /// retrieval runs the fast model on one thread beside the quality model on two.
    public var fastThreads: Int?
    /// Where model directories are found (`<root>/<last component of the column's model id>`).
    public var modelsRoot: URL
    /// Overrides for the model directories.
    public var fastModelDirectory: URL?
    public var qualityModelDirectory: URL?

    public init(modelsRoot: URL, cacheCapacity: Int = 1000, qualityMode: QualityEmbeddingMode = .synchronous, threads: Int = 1,
                fastModelDirectory: URL? = nil, qualityModelDirectory: URL? = nil) {
        self.modelsRoot = modelsRoot
        self.cacheCapacity = cacheCapacity
        self.qualityMode = qualityMode
        self.threads = threads
        self.fastModelDirectory = fastModelDirectory
        self.qualityModelDirectory = qualityModelDirectory
    }
}

/// Computes, caches and serves the two embeddings of episodes: models load lazily on first use,
/// vectors are written to the store (which sets the `fastembed_cached` / `embedding_cached`
/// flags) and kept in an LRU per column; reads go LRU → store → LRU.
public final class EmbeddingService: Sendable {
    public let store: SQLiteEpisodeStore
    public let configuration: EmbeddingServiceConfiguration
    public let fastColumn: VectorColumn
    public let qualityColumn: VectorColumn?
    public let fastModel: ColumnModel
    public let qualityModel: ColumnModel?
    public let fastCache: LRUCache<String, [Float]>
    public let qualityCache: LRUCache<String, [Float]>
    private let background = BackgroundWork()
    private let logger = Logger(label: "episodic.embeddings")

    public init(store: SQLiteEpisodeStore, configuration: EmbeddingServiceConfiguration) throws {
        guard let fast = store.column(role: .fast) else { throw RetrievalError.noColumn(role: "fast") }
        self.store = store
        self.configuration = configuration
        fastColumn = fast
        qualityColumn = store.column(role: .quality)
        fastModel = ColumnModel(column: fast, directory: configuration.fastModelDirectory
            ?? ColumnModel.directory(for: fast, under: configuration.modelsRoot), threads: configuration.fastThreads ?? configuration.threads)
        qualityModel = qualityColumn.map {
            ColumnModel(column: $0, directory: configuration.qualityModelDirectory
                ?? ColumnModel.directory(for: $0, under: configuration.modelsRoot), threads: configuration.threads)
        }
        fastCache = LRUCache(capacity: configuration.cacheCapacity)
        qualityCache = LRUCache(capacity: configuration.cacheCapacity)
    }

    /// Loads both models now instead of on first use. The quality model's failure is returned,
    /// not thrown: retrieval falls back without it.
    @discardableResult
    public func loadModels() throws -> Error? {
        _ = try fastModel.embedder()
        do { _ = try qualityModel?.embedder(); return nil } catch { return error }
    }

    // MARK: - Fast column

    /// The fast embedding of an episode's text.
    public func createFastEmbedding(_ text: String) throws -> [Float] {
        try fastModel.embedder().embed(text, as: .passage)
    }

    /// The fast embedding of a query (with the model's query prompt, if any).
    public func fastQueryEmbedding(_ text: String) throws -> [Float] {
        try fastModel.embedder().embed(text, as: .query)
    }

    /// Stores the fast vector of an episode (setting `fastembed_cached`) and caches it.
    public func cacheFastEmbedding(episodeID: String, vector: [Float]) throws {
        try store.setVector(vector, column: fastColumn.name, episodeID: episodeID)
        remember(vector, episodeID, in: fastCache, column: fastColumn.name)
    }

    /// The fast vector of an episode: from the LRU, else from the store (then cached).
    public func getFastEmbedding(episodeID: String) throws -> [Float]? {
        try cached(episodeID, cache: fastCache, column: fastColumn.name)
    }

    // MARK: - Quality column

    /// The quality embedding of an episode's text.
    public func createQualityEmbedding(_ text: String) throws -> [Float] {
        guard let qualityModel else { throw RetrievalError.noColumn(role: "quality") }
        return try qualityModel.embedder().embed(text, as: .passage)
    }

    /// The quality embedding of a query (bge's instruction, when the model has one).
    public func qualityQueryEmbedding(_ text: String) throws -> [Float] {
        guard let qualityModel else { throw RetrievalError.noColumn(role: "quality") }
        return try qualityModel.embedder().embed(text, as: .query)
    }

    /// Stores the quality vector of an episode (setting `embedding_cached`) and caches it.
    public func cacheQualityEmbedding(episodeID: String, vector: [Float]) throws {
        guard let qualityColumn else { throw RetrievalError.noColumn(role: "quality") }
        try store.setVector(vector, column: qualityColumn.name, episodeID: episodeID)
        remember(vector, episodeID, in: qualityCache, column: qualityColumn.name)
    }

    /// The quality vector of an episode: from the LRU, else from the store (then cached).
    public func getQualityEmbedding(episodeID: String) throws -> [Float]? {
        guard let qualityColumn else { return nil }
        return try cached(episodeID, cache: qualityCache, column: qualityColumn.name)
    }

    /// Quality vectors of many episodes, computing (and storing) the missing ones in one batch.
    public func qualityEmbeddings(for episodes: [Episode]) throws -> [String: [Float]] {
        var result: [String: [Float]] = [:]
        var missing: [Episode] = []
        for episode in episodes {
            if let v = try getQualityEmbedding(episodeID: episode.id) { result[episode.id] = v } else { missing.append(episode) }
        }
        if !missing.isEmpty {
            let vectors = try qualityModel!.embedder().embed(missing.map(\.embeddedText), as: .passage)
            for (episode, vector) in zip(missing, vectors) {
                try cacheQualityEmbedding(episodeID: episode.id, vector: vector)
                result[episode.id] = vector
            }
        }
        return result
    }

    // MARK: - Adding episodes

    /// Adds an episode with its fast vector in one transaction; the quality vector in the same
    /// transaction, in the background, or later, per ``QualityEmbeddingMode``. A quality model
    /// that cannot load never fails the add: the vector is left for backfill.
    @discardableResult
    public func add(_ episode: Episode) throws -> Episode {
        try add([episode])[0]
    }

    /// Adds episodes (one transaction), embedding them in batches.
    @discardableResult
    public func add(_ episodes: [Episode]) throws -> [Episode] {
        try add(episodes.map { ($0, [:]) })
    }

    /// Adds episodes with vectors the caller already has (keyed by column name); the missing fast
    /// vectors are computed, the missing quality vectors per ``QualityEmbeddingMode``.
    @discardableResult
    public func add(_ items: [(episode: Episode, vectors: [String: [Float]])]) throws -> [Episode] {
        for item in items { try store.validate(item.episode) }
        var batch = items
        let needFast = batch.indices.filter { batch[$0].vectors[fastColumn.name] == nil }
        if !needFast.isEmpty {
            let vectors = try fastModel.embedder().embed(needFast.map { batch[$0].episode.embeddedText }, as: .passage)
            for (i, v) in zip(needFast, vectors) { batch[i].vectors[fastColumn.name] = v }
        }
        var needQuality: [Int] = []
        if let qualityColumn, let qualityModel {
            needQuality = batch.indices.filter { batch[$0].vectors[qualityColumn.name] == nil }
            if configuration.qualityMode == .synchronous && !needQuality.isEmpty {
                do {
                    let vectors = try qualityModel.embedder().embed(needQuality.map { batch[$0].episode.embeddedText }, as: .passage)
                    for (i, v) in zip(needQuality, vectors) { batch[i].vectors[qualityColumn.name] = v }
                    needQuality = []
                } catch {
                    logger.warning("quality vectors left for backfill: \(error)")
                }
            }
        }
        let stored = try store.add(batch)
        for (item, episode) in zip(batch, stored) {
            if let v = item.vectors[fastColumn.name] { remember(v, episode.id, in: fastCache, column: fastColumn.name) }
            if let qualityColumn, let v = item.vectors[qualityColumn.name] {
                remember(v, episode.id, in: qualityCache, column: qualityColumn.name)
            }
        }
        if configuration.qualityMode == .background, let qualityModel, !needQuality.isEmpty {
            let pending = needQuality.map { (stored[$0].id, stored[$0].embeddedText) }
            background.run { [self] in
                do {
                    let vectors = try qualityModel.embedder().embed(pending.map(\.1), as: .passage)
                    for ((id, _), vector) in zip(pending, vectors) where try store.episode(id: id) != nil {
                        try cacheQualityEmbedding(episodeID: id, vector: vector)
                    }
                } catch {
                    logger.warning("background quality embedding failed; left for backfill: \(error)")
                }
            }
        }
        return stored
    }

    /// Waits for background quality embeddings to finish (shutdown, tests).
    public func waitForBackgroundWork() async { await background.drain() }

    /// Computes every missing vector of `role`'s column, `batchSize` episodes per transaction.
    /// Safe to interrupt and rerun: each batch commits on its own and only missing vectors are
    /// computed. Calls `progress(done, remaining before start)` after each batch.
    @discardableResult
    public func backfill(role: VectorRole, batchSize: Int = 64, progress: (Int, Int) -> Void = { _, _ in }) throws -> Int {
        guard let column = role == .fast ? fastColumn : qualityColumn else { throw RetrievalError.noColumn(role: role.rawValue) }
        let model = role == .fast ? fastModel : qualityModel!
        let total = try store.episodeCount() - store.vectorCount(column: column.name)
        var done = 0
        while true {
            let missing = try store.episodesMissingVector(column: column.name, limit: max(1, batchSize))
            if missing.isEmpty { break }
            let vectors = try model.embedder().embed(missing.map(\.embeddedText), as: .passage)
            try store.setVectors(zip(missing, vectors).map { ($0.id, $1) }, column: column.name)
            for (episode, vector) in zip(missing, vectors) {
                remember(vector, episode.id, in: role == .fast ? fastCache : qualityCache, column: column.name)
            }
            done += missing.count
            progress(done, total)
        }
        return done
    }

    // MARK: - Cache plumbing

    private func cached(_ id: String, cache: LRUCache<String, [Float]>, column: String) throws -> [Float]? {
        if let hit = cache.value(for: id) {
            logger.trace("lru hit", metadata: ["column": "\(column)", "episode": "\(id)"])
            return hit
        }
        guard let vector = try store.vector(column: column, episodeID: id) else { return nil }
        remember(vector, id, in: cache, column: column)
        return vector
    }

    private func remember(_ vector: [Float], _ id: String, in cache: LRUCache<String, [Float]>, column: String) {
        if let evicted = cache.insert(vector, for: id) {
            let s = cache.statistics
            logger.debug("lru evicted \(evicted)", metadata: ["column": "\(column)", "hits": "\(s.hits)", "misses": "\(s.misses)",
                                                              "evictions": "\(s.evictions)"])
        }
    }

    /// Forgets cached vectors of a deleted episode.
    public func forget(episodeID: String) {
        fastCache.remove(episodeID)
        qualityCache.remove(episodeID)
    }
}

/// Background tasks that must be drained before shutdown.
final class BackgroundWork: Sendable {
    private let tasks = Mutex<[UUID: Task<Void, Never>]>([:])

    func run(_ body: @escaping @Sendable () -> Void) {
        let id = UUID()
        tasks.withLock { tasks in
            tasks[id] = Task.detached { [weak self] in
                body()
                self?.finish(id)
            }
        }
    }

    private func finish(_ id: UUID) { _ = tasks.withLock { $0.removeValue(forKey: id) } }

    func drain() async {
        while let next = tasks.withLock({ $0.values.first }) { await next.value }
    }
}
