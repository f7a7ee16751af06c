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
    /// After the add returns, on a background task; stored when done.
    case background
    /// Not at add time: `episodic backfill` or the first rerank that needs it computes it.
    case deferred
}

/// Configuration of an ``EmbeddingService``.
public struct EmbeddingServiceConfiguration: Sendable {
    /// Episodes kept per column in the LRU cache.
    public var cacheCapacity: Int = 1000
    public var qualityMode: QualityEmbeddingMode = .synchronous
    /// Threads of the quality model's forward pass (matrix products and attention).
    public var threads: Int = 1
    /// Threads of the fast model's forward pass (default: as many as `threads`).
    public var fastThreads: Int?
    /// Where model directories are found (`<folder>/<name of the column's model>`).
    public var modelsFolder: URL
    /// Overrides for the model directories.
    public var fastModelDirectory: URL?
    public var qualityModelDirectory: URL?
    /// The arithmetic of both models' linear layers.
    public var precision: EmbeddingPrecision = .fp32
    /// Gather the embeddings of concurrent calls into shared forward passes (``EmbeddingBatcher``):
    /// for servers, where many requests embed at once.
    public var batching = false
    /// The cross-encoder of the optional last stage (default: `<modelsFolder>/ms-marco-MiniLM-L-6-v2`
    /// when installed).
    public var crossEncoderDirectory: URL?

    public init(
        modelsFolder: URL = ModelsFolder.default, cacheCapacity: Int = 1000, qualityMode: QualityEmbeddingMode = .synchronous,
        threads: Int = 1, fastModelDirectory: URL? = nil, qualityModelDirectory: URL? = nil
    ) {
        self.modelsFolder = modelsFolder
        self.cacheCapacity = cacheCapacity
        self.qualityMode = qualityMode
        self.threads = threads
        self.fastModelDirectory = fastModelDirectory
        self.qualityModelDirectory = qualityModelDirectory
    }
}

/// Computes, stores and caches the two embeddings of episodes: one ``ColumnEmbedder`` per role
/// (fast, quality), models loaded lazily, vectors written to the store in the transaction of
/// their episode (or in one transaction per batch later) and kept in an LRU per column.
public final class EmbeddingService: Sendable {
    public let store: any EpisodeStoreBackend
    public let configuration: EmbeddingServiceConfiguration
    /// The fast column's embedder (coarse search).
    public let fast: ColumnEmbedder
    /// The quality column's embedder (rerank), when the store has that column.
    public let quality: ColumnEmbedder?
    let background = BackgroundWork()
    let logger = Logger(label: "episodic.embeddings")
    /// The engine of both models' forward passes, with ``EmbeddingServiceConfiguration/batching``.
    public let batcher: EmbeddingBatcher?
    /// The optional cross-encoder stage (off while no model is installed).
    public let crossEncoder: CrossEncoderModel

    public init(store: any EpisodeStoreBackend, configuration: EmbeddingServiceConfiguration) throws {
        guard let fastColumn = store.column(role: .fast) else { throw RetrievalError.noColumn(role: "fast") }
        self.store = store
        self.configuration = configuration
        let batcher = configuration.batching ? EmbeddingBatcher() : nil
        self.batcher = batcher
        crossEncoder = CrossEncoderModel(
            directory: configuration.crossEncoderDirectory
                ?? configuration.modelsFolder.appendingPathComponent(CrossEncoderModel.defaultName),
            threads: configuration.threads, precision: configuration.precision)
        fast = ColumnEmbedder(
            column: fastColumn,
            model: ColumnModel(
                column: fastColumn,
                directory: configuration.fastModelDirectory ?? ColumnModel.directory(for: fastColumn, in: configuration.modelsFolder),
                threads: configuration.fastThreads ?? configuration.threads, precision: configuration.precision),
            cacheCapacity: configuration.cacheCapacity, batcher: batcher)
        quality = store.column(role: .quality).map { column in
            ColumnEmbedder(
                column: column,
                model: ColumnModel(
                    column: column,
                    directory: configuration.qualityModelDirectory ?? ColumnModel.directory(for: column, in: configuration.modelsFolder),
                    threads: configuration.threads, precision: configuration.precision),
                cacheCapacity: configuration.cacheCapacity, batcher: batcher)
        }
    }

    /// The embedder of `role`'s column, if the store has one.
    public func embedder(_ role: VectorRole) -> ColumnEmbedder? { role == .fast ? fast : quality }

    /// Loads both models now instead of on first use. The quality model's failure is returned,
    /// not thrown: retrieval falls back without it.
    @discardableResult
    public func loadModels() throws -> Error? {
        _ = try fast.model.embedder()
        do { _ = try quality?.model.embedder(); return nil } catch { return error }
    }

    /// Vectors of `episodes` in `embedder`'s column: from the LRU when it holds the stored one,
    /// else from the store; those missing are computed and stored in one transaction.
    ///
    /// `embedding`: the ids whose missing vectors may be computed (nil: all); the others without a
    /// stored vector are absent from the result.
    public func vectors(for episodes: [Episode], in embedder: ColumnEmbedder, embedding allowed: Set<String>? = nil) async throws
        -> [String: [Float]]
    {
        var result: [String: [Float]] = [:]
        var unknown: [Episode] = []
        for episode in episodes {
            if let hit = embedder.cachedVector(of: episode) { result[episode.id] = hit } else { unknown.append(episode) }
        }
        for (agent, group) in Dictionary(grouping: unknown, by: \.agentID) {
            let stored = try await store.vectors(column: embedder.column.name, agentID: agent, episodeIDs: group.map(\.id))
            for episode in group {
                guard let vector = stored[episode.id] else { continue }
                result[episode.id] = vector
                let storedAt = embedder.column.role == .fast ? episode.fastembedCachedAt : episode.embeddingCachedAt
                embedder.remember(vector, for: EpisodeKey(episode), storedAt: storedAt)
            }
        }
        let missing = unknown.filter { result[$0.id] == nil && allowed?.contains($0.id) != false }
        if !missing.isEmpty {
            let vectors = try await embedder.embedPassages(missing.map(\.embeddedText))
            try await store.setVectors(
                zip(missing, vectors).map { EpisodeVector(of: $0, vector: $1) },
                column: embedder.column.name)
            for (episode, vector) in zip(missing, vectors) { result[episode.id] = vector }
        }
        return result
    }

    /// Forgets the cached vectors of a deleted or changed episode.
    public func forget(_ key: EpisodeKey) {
        fast.forget(key)
        quality?.forget(key)
    }

    /// Waits for background quality embeddings to finish (shutdown, tests).
    public func waitForBackgroundWork() async { await background.drain() }

    /// Finishes background work and stops the batcher's engine (a closing store).
    public func shutdown() async {
        await background.drain()
        batcher?.stop()
    }
}

/// Background tasks that must be drained before shutdown.
final class BackgroundWork: Sendable {
    private let tasks = Mutex<[UUID: Task<Void, Never>]>([:])

    func run(_ body: @escaping @Sendable () async -> Void) {
        let id = UUID()
        tasks.withLock { tasks in
            tasks[id] = Task.detached { [weak self] in
                await body()
                self?.finish(id)
            }
        }
    }

    private func finish(_ id: UUID) { _ = tasks.withLock { $0.removeValue(forKey: id) } }

    func drain() async {
        while let next = tasks.withLock({ $0.values.first }) { await next.value }
    }
}
