import EpisodeStore
import Foundation
import TextEmbedding
import VectorSearch

/// EpisodicMemory as a library: one object over a store file, its models and the retriever.
///
/// ```swift
/// import HybridRetrieval
///
/// let memory = try EpisodicMemory.open(path: "memory.sqlite")
/// try memory.add(Episode(agentID: "planner", content: "Booked the flight to Lisbon for Friday"))
/// let response = try await memory.retrieve(agentID: "planner", query: "when do I fly?")
/// for result in response.results { print(result.stage, result.finalScore, result.episode.content) }
/// ```
///
/// A new store gets a fast column for all-MiniLM-L6-v2 (384) and a quality column for
/// ``Configuration/qualityModel`` (all-mpnet-base-v2 by default, the quality model available
/// offline); an existing store keeps the columns recorded in it. Models load on first use from
/// ``Configuration/modelsRoot``.
public final class EpisodicMemory: Sendable {
    public struct Configuration: Sendable {
        /// Where model directories live (`scripts/setup.sh` installs them there).
        public var modelsRoot: URL
        /// Models of the columns of a new store (catalog names or Hugging Face ids).
        public var fastModel: String = ModelCatalog.defaultFast.id
        public var qualityModel: String = ModelCatalog.offlineQuality.id
        public var qualityMode: QualityEmbeddingMode = .synchronous
        public var threads: Int = 1
        public var cacheCapacity: Int = 1000
        /// Largest content or summary, in UTF-8 bytes.
        public var maxTextBytes: Int = 1 << 20
        /// Create the store file if it does not exist.
        public var createIfMissing = true
        /// Model directories to use instead of `<modelsRoot>/<name>` (tests, custom layouts).
        public var fastModelDirectory: URL?
        public var qualityModelDirectory: URL?

        /// `$EPISODIC_MODELS`, or `~/.cache/episodic/models`.
        public static var defaultModelsRoot: URL {
            if let path = ProcessInfo.processInfo.environment["EPISODIC_MODELS"], !path.isEmpty { return URL(fileURLWithPath: path) }
            return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/episodic/models")
        }

        public init(modelsRoot: URL = Configuration.defaultModelsRoot) {
            self.modelsRoot = modelsRoot
        }
    }

    public let store: SQLiteEpisodeStore
    public let service: EmbeddingService
    public let retriever: HybridRetriever
    public let configuration: Configuration

    /// Opens (creating and migrating as needed) the store at `path`.
    public static func open(path: String, configuration: Configuration = .init()) throws -> EpisodicMemory {
        try EpisodicMemory(path: path, configuration: configuration)
    }

    init(path: String, configuration: Configuration) throws {
        self.configuration = configuration
        let columns = FileManager.default.fileExists(atPath: path) ? [] : try Self.newColumns(configuration)
        store = try SQLiteEpisodeStore(path: path, configuration: .init(
            columns: columns, createIfMissing: configuration.createIfMissing, maxTextBytes: configuration.maxTextBytes))
        service = try EmbeddingService(store: store, configuration: .init(
            modelsRoot: configuration.modelsRoot, cacheCapacity: configuration.cacheCapacity,
            qualityMode: configuration.qualityMode, threads: configuration.threads,
            fastModelDirectory: configuration.fastModelDirectory, qualityModelDirectory: configuration.qualityModelDirectory))
        retriever = HybridRetriever(service: service)
    }

    /// Columns for the configured models, with the sha256 of installed weights.
    static func newColumns(_ c: Configuration) throws -> [VectorColumn] {
        [try ColumnFactory.column(name: VectorColumn.defaultFastName, role: .fast, model: c.fastModel,
                                  modelsRoot: c.modelsRoot, directory: c.fastModelDirectory),
         try ColumnFactory.column(name: VectorColumn.defaultQualityName, role: .quality, model: c.qualityModel,
                                  modelsRoot: c.modelsRoot, directory: c.qualityModelDirectory)]
    }

    /// Adds an episode with its vectors (see ``EmbeddingService/add(_:)-(Episode)``).
    @discardableResult
    public func add(_ episode: Episode) throws -> Episode { try service.add(episode) }

    /// Adds episodes in one transaction.
    @discardableResult
    public func add(_ episodes: [Episode]) throws -> [Episode] { try service.add(episodes) }

    /// Hybrid retrieval (see ``HybridRetriever``).
    public func retrieve(agentID: String, query: String, options: RetrievalOptions = .init()) async throws -> RetrievalResponse {
        try await retriever.retrieve(agentID: agentID, query: query, options: options)
    }

    /// Fast-vector search only.
    public func retrieveBaseline(agentID: String, query: String, topK: Int = 10) async throws -> RetrievalResponse {
        try await retriever.retrieveBaseline(agentID: agentID, query: query, topK: topK)
    }

    public func episode(id: String) throws -> Episode? { try store.episode(id: id) }

    /// Deletes an episode and its vectors; returns whether it existed.
    @discardableResult
    public func delete(id: String) throws -> Bool {
        let deleted = try store.delete(id: id)
        service.forget(episodeID: id)
        return deleted
    }

    /// An agent's episodes, newest first.
    public func episodes(agentID: String, limit: Int = 50, after: Episode? = nil) throws -> [Episode] {
        try store.episodes(agentID: agentID, limit: limit, after: after)
    }

    /// Waits for background work (quality vectors) to finish; call before exiting.
    public func close() async { await service.waitForBackgroundWork() }
}
