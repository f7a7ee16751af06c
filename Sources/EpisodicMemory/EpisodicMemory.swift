import EpisodeStore
import Foundation
import HybridRetrieval
import Logging
import TextEmbedding
import VectorSearch

/// EpisodicMemory as a library — the one way in, used by the server, the command line, the
/// evaluator and the benchmarks alike: a store (a SQLite file, the embedded default), its two
/// embedding models and the hybrid retriever behind one object.
///
/// ```swift
/// import EpisodicMemory
///
/// let memory = try await EpisodicMemory.open("memory.sqlite")
/// try await memory.add(Episode(agentID: "planner", content: "Booked the flight to Lisbon for Friday"))
/// let response = try await memory.retrieve(agentID: "planner", query: "when do I fly?")
/// for result in response.results { print(result.stage, result.finalScore, result.episode.content) }
/// await memory.close()
/// ```
///
/// A new store gets a fast column for ``Configuration/fastModel`` (all-MiniLM-L6-v2, 384) and a
/// quality column for ``Configuration/qualityModel`` (all-mpnet-base-v2, the quality model
/// available offline); an existing store keeps the columns recorded in it. Models load on first
/// use from ``Configuration/modelsFolder``. `Sendable`: share one instance across tasks.
public final class EpisodicMemory: Sendable {
    public struct Configuration: Sendable {
        /// Where model directories live (`scripts/setup.sh` installs them there).
        public var modelsFolder: URL = ModelsFolder.default
        /// Models of the columns of a new store (catalog names or Hugging Face ids).
        public var fastModel: String = ModelCatalog.defaultFast.id
        public var qualityModel: String = ModelCatalog.offlineQuality.id
        /// When the quality vectors of added episodes are computed.
        public var qualityMode: QualityEmbeddingMode = .synchronous
        /// Threads of each model's forward pass.
        public var threads: Int = 1
        /// The arithmetic of the models' linear layers: `auto` (the default) is bf16 on CPUs with
        /// AVX512_BF16 (within the accuracy gates, about twice as fast), fp32 elsewhere; vectors of
        /// every precision are comparable, so a store never records it.
        public var precision: EmbeddingPrecision = .auto
        /// Gather the embeddings of concurrent calls into shared forward passes
        /// (``EmbeddingBatcher``): for servers. Each model's passes then use `threads` threads.
        public var batching = false
        /// Episodes kept per column in the vector LRU.
        public var cacheCapacity: Int = 1000
        /// Bytes of full-text postings a SQLite store keeps in memory for agents searched while
        /// nothing changes (``SQLiteStoreConfiguration/lexicalMemoryBytes``; PostgreSQL has none).
        public var lexicalMemoryBytes = SQLiteStoreConfiguration().lexicalMemoryBytes
        /// What episodes may hold.
        public var limits = EpisodeLimits()
        /// Create the store if it does not exist (else ``StoreError/storeNotFound(location:)``).
        public var createIfMissing = true
        /// Open without writing (commands that only read; a file that is not writable opens so anyway).
        public var readOnly = false
        /// Model directories to use instead of `<modelsFolder>/<name>` (tests, custom layouts).
        public var fastModelDirectory: URL?
        public var qualityModelDirectory: URL?

        public init(modelsFolder: URL = ModelsFolder.default) {
            self.modelsFolder = modelsFolder
        }
    }

    public let store: any EpisodeStoreBackend
    public let service: EmbeddingService
    public let retriever: HybridRetriever
    public let configuration: Configuration
    let logger = Logger(label: "episodic.memory")

    /// Opens (creating and migrating as needed) the store at `location`: a file path (SQLite).
    public static func open(_ location: String, configuration: Configuration = .init()) async throws -> EpisodicMemory {
        try await open(location, columns: nil, configuration: configuration)
    }

    /// Creates a store at `location` with exactly these columns (`episodic init`); refuses an
    /// existing store.
    public static func create(_ location: String, columns: [VectorColumn], configuration: Configuration = .init()) async throws
        -> EpisodicMemory
    {
        if try await StoreLocation(location).exists() {
            throw StoreError.columnMismatch(
                name: columns.first?.name ?? "", recorded: "an existing store at \(location)",
                requested: "a new store")
        }
        return try await open(location, columns: columns, configuration: configuration)
    }

    static func open(_ location: String, columns: [VectorColumn]?, configuration: Configuration) async throws -> EpisodicMemory {
        let place = try StoreLocation(location)
        let newColumns: [VectorColumn]
        if let columns {
            newColumns = columns
        } else if configuration.createIfMissing && !configuration.readOnly, try await !place.exists() {
            newColumns = try defaultColumns(configuration)
        } else {
            newColumns = []
        }
        let store = try await place.open(columns: newColumns, configuration: configuration)
        return try EpisodicMemory(store: store, configuration: configuration)
    }

    /// A memory over a store opened elsewhere (tests, custom backends).
    public init(store: any EpisodeStoreBackend, configuration: Configuration = .init()) throws {
        self.store = store
        self.configuration = configuration
        let serviceConfiguration = EmbeddingServiceConfiguration(
            modelsFolder: configuration.modelsFolder, cacheCapacity: configuration.cacheCapacity,
            qualityMode: configuration.qualityMode, threads: configuration.threads,
            fastModelDirectory: configuration.fastModelDirectory, qualityModelDirectory: configuration.qualityModelDirectory)
        var embedding = serviceConfiguration
        embedding.precision = configuration.precision
        embedding.batching = configuration.batching
        service = try EmbeddingService(store: store, configuration: embedding)
        retriever = HybridRetriever(service: service)
    }

    /// Columns for the configured models, with the sha256 of installed weights.
    static func defaultColumns(_ c: Configuration) throws -> [VectorColumn] {
        [
            try ColumnFactory.column(
                name: VectorColumn.defaultFastName, role: .fast, model: c.fastModel,
                modelsFolder: c.modelsFolder, directory: c.fastModelDirectory),
            try ColumnFactory.column(
                name: VectorColumn.defaultQualityName, role: .quality, model: c.qualityModel,
                modelsFolder: c.modelsFolder, directory: c.qualityModelDirectory),
        ]
    }

    /// The store's vector columns.
    public var columns: [VectorColumn] { store.columns }
    /// The column of `role`, if the store has one.
    public func column(role: VectorRole) -> VectorColumn? { store.column(role: role) }
    /// What episodes (and queries) may hold.
    public var limits: EpisodeLimits { store.limits }
    /// The file path or database URL (without password).
    public var location: String { store.location }

    /// Loads what serving needs before the first request: the in-memory vector indexes and,
    /// with `models`, both models. Returns the quality model's failure (retrieval falls back
    /// without it); a fast model that cannot load is thrown.
    @discardableResult
    public func prepare(models: Bool) async throws -> Error? {
        try await store.prepareForSearch()
        return models ? try service.loadModels() : nil
    }

    /// Waits for background work (quality vectors) to finish and releases the store.
    public func close() async {
        await service.shutdown()
        await store.close()
    }

    /// ``close()``, waited for at most `seconds`: a stopping server must not stay alive because
    /// a step of closing does not return (seen once in CI: a PostgreSQL client's run loop not
    /// ending after its connections had closed). Every acknowledged write is committed before it
    /// is acknowledged, so nothing is lost by not waiting. Whether closing finished in time.
    public func close(within seconds: Double) async -> Bool {
        let closing = Task { await close() }
        return await TaskDeadline.value(of: closing, within: seconds * 1000) != nil
    }
}
