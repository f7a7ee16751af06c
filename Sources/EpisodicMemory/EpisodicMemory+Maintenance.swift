import EpisodeStore
import Foundation
import HybridRetrieval
import TextEmbedding
import VectorSearch

/// The state of a memory, for `/health` and `episodic stats`.
public struct MemoryHealth: Sendable {
    public struct Model: Sendable {
        public var role: VectorRole
        public var column: VectorColumn
        public var directory: URL
        public var loaded: Bool
        /// The column's vector LRU.
        public var cache: LRUCache<EpisodeKey, CachedVector>.Statistics
    }
    public var location: String
    public var backend: String
    public var schemaVersion: String
    public var models: [Model]
    /// What the embedding batcher has done, when the memory batches (a server).
    public var batching: EmbeddingBatcher.Statistics?
}

extension EpisodicMemory {
    /// Computes every missing vector of `role`'s column (see ``EmbeddingService/backfill(role:batchSize:progress:)``).
    @discardableResult
    public func backfill(role: VectorRole, batchSize: Int = 64, progress: @Sendable (Int, Int) -> Void = { _, _ in }) async throws -> Int {
        try await service.backfill(role: role, batchSize: batchSize, progress: progress)
    }

    /// Re-embeds `role`'s column with another model (see ``EmbeddingService/reembed(role:modelID:directory:batchSize:progress:)``):
    /// resumable, and the column's model changes only once every episode has its new vector.
    /// This memory is stale afterwards: open the store again to use the new model.
    @discardableResult
    public func reembed(
        role: VectorRole, model: String, directory: URL? = nil, batchSize: Int = 64,
        progress: @Sendable (Int, Int) -> Void = { _, _ in }
    ) async throws -> Int {
        let folder = directory ?? ModelsFolder.directory(of: model, in: configuration.modelsFolder)
        let id = ModelCatalog.model(named: model)?.id ?? (directory == nil ? model : folder.lastPathComponent)
        return try await service.reembed(role: role, modelID: id, directory: folder, batchSize: batchSize, progress: progress)
    }

    /// Drops the staging vectors of an unfinished re-embedding of `role`'s column.
    public func cancelReembedding(role: VectorRole) async throws {
        guard let column = store.column(role: role) else { throw RetrievalError.noColumn(role: role.rawValue) }
        try await store.cancelReembedding(of: column.name)
    }

    public func stats() async throws -> StoreStats { try await store.stats() }

    /// Episodes without a vector in `role`'s column (what ``backfill(role:batchSize:progress:)`` would compute).
    public func missingVectors(role: VectorRole) async throws -> Int {
        guard let column = store.column(role: role) else { throw RetrievalError.noColumn(role: role.rawValue) }
        return try await store.stats().episodes - store.vectorCount(column: column.name, agentID: nil)
    }

    /// The newest migration applied to the store.
    public func schemaVersion() async throws -> String { try await store.appliedMigrations().last ?? "none" }

    public func health() async throws -> MemoryHealth {
        let version = try await schemaVersion()
        let models = [service.fast] + (service.quality.map { [$0] } ?? [])
        return MemoryHealth(
            location: store.location, backend: try await store.stats().backend, schemaVersion: version,
            models: models.map {
                .init(
                    role: $0.column.role, column: $0.column, directory: $0.model.directory,
                    loaded: $0.model.isLoaded, cache: $0.cache.statistics)
            },
            batching: service.batcher?.currentStatistics)
    }

    /// Brings the store at `location` to the migration `target` (default: the latest), up or
    /// down; returns the migrations applied afterwards. A store written by a newer version is
    /// refused before anything is written.
    public static func migrate(_ location: String, to target: String? = nil) async throws -> [String] {
        try await StoreLocation(location).migrate(to: target)
    }

    /// Migrations applied to the store at `location`, oldest first (read-only).
    public static func appliedMigrations(_ location: String) async throws -> [String] {
        try await StoreLocation(location).appliedMigrations()
    }

    /// The named migrations of the backend of `location`, oldest first.
    public static func migrationNames(_ location: String) throws -> [String] {
        try StoreLocation(location).migrationNames
    }
}
