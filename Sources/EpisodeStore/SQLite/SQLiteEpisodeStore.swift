import Foundation
import GRDB
import Logging
import Synchronization
import VectorSearch

/// How to open a SQLite store.
public struct SQLiteStoreConfiguration: Sendable {
    /// The vector columns of a new store. For an existing store the recorded columns are
    /// authoritative; a requested column that contradicts them is a ``StoreError/columnMismatch``.
    public var columns: [VectorColumn]
    /// Create the database file when it does not exist (or is empty); otherwise a missing file is
    /// ``StoreError/storeNotFound(location:)``.
    public var createIfMissing: Bool
    /// Open without writing anything (no migration, no WAL change); writes throw
    /// ``StoreError/readOnly(location:)``. A file the process cannot write is opened this way.
    public var readOnly: Bool
    /// How long a write waits for another writer (another process) before ``StoreError/busy``.
    public var busyTimeout: TimeInterval
    /// What episodes may hold.
    public var limits: EpisodeLimits
    /// Change-log entries kept for other processes to catch up from; a process further behind
    /// reloads its indexes from the tables.
    public var changeLogRetention: Int
    /// Bytes of full-text postings kept in memory for agents searched while nothing changes
    /// (their lexical searches then skip FTS5's ranking, with the same scores); 0 keeps none.
    /// About 8 bytes per token of an agent's text plus ~70 per episode: 128 MiB holds ~800,000
    /// episodes of 20 words.
    public var lexicalMemoryBytes: Int

    public init(
        columns: [VectorColumn] = [], createIfMissing: Bool = false, readOnly: Bool = false, busyTimeout: TimeInterval = 10,
        limits: EpisodeLimits = .init(), changeLogRetention: Int = 100_000, lexicalMemoryBytes: Int = 128 << 20
    ) {
        self.columns = columns
        self.createIfMissing = createIfMissing
        self.readOnly = readOnly
        self.busyTimeout = busyTimeout
        self.limits = limits
        self.changeLogRetention = changeLogRetention
        self.lexicalMemoryBytes = lexicalMemoryBytes
    }
}

/// The embedded default store: one SQLite file (WAL: one writer and many readers, safe for several
/// processes), migrations with downgrade, vector columns with enforced dimensions, FTS5 for the
/// lexical stage, and an in-memory exact index per column kept in step with every write — this
/// process's and others' (``SQLiteIndexFollower``).
///
/// ```swift
/// let store = try SQLiteEpisodeStore(path: "memory.sqlite", configuration: .init(
///     columns: [VectorColumn(name: "vector_fastembed", role: .fast, dimension: 384, modelID: "all-MiniLM-L6-v2")],
///     createIfMissing: true))
/// try await store.add(Episode(agentID: "a", content: "booked a flight"), vectors: ["vector_fastembed": v])
/// let hits = try await store.similaritySearch(vector: q, column: "vector_fastembed", topK: 100, agentID: "a")
/// ```
public final class SQLiteEpisodeStore: EpisodeStoreBackend {
    public let path: String
    public var location: String { path }
    public let configuration: SQLiteStoreConfiguration
    public var limits: EpisodeLimits { configuration.limits }
    /// The vector columns, as recorded in the database (staging columns excluded).
    public let columns: [VectorColumn]
    /// Staging columns of re-embeddings in progress, by the column they replace.
    let stagingColumns: Mutex<[String: VectorColumn]>
    /// Set by the first ``close()``; later calls do nothing.
    private let closed = Mutex(false)
    /// Whether writes are refused (read-only file or configuration).
    public let isReadOnly: Bool
    let reader: any DatabaseReader
    let writer: (any DatabaseWriter)?
    /// The columns' generation when opened: a re-embedding by another process bumps it, and this
    /// process then refuses to write vectors of the replaced model.
    let columnsGeneration: String
    let follower: SQLiteIndexFollower
    /// Passing sets of recent filters (``passingIDs(agentID:filter:)``).
    let passingSets = PassingSetCache()
    /// Agents' full-text postings in memory (``lexicalSearch(query:topK:agentID:filter:)``).
    let lexicalMemory: LexicalMemoryIndex
    let logger = Logger(label: "episodic.store")

    /// Opens (and migrates to the latest schema) the store at `path`. A database of another
    /// program, or one written by a newer version, is refused before anything is written.
    public init(path: String, configuration: SQLiteStoreConfiguration = .init()) throws {
        self.path = path
        self.configuration = configuration
        lexicalMemory = LexicalMemoryIndex(budget: max(0, configuration.lexicalMemoryBytes))
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if isDirectory.boolValue { throw StoreError.notADatabase(path: path) }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        if !exists {
            guard configuration.createIfMissing, !configuration.readOnly else { throw StoreError.storeNotFound(location: path) }
            guard FileManager.default.fileExists(atPath: folder) else { throw StoreError.storeNotFound(location: path) }
        }
        let contents = exists ? try Self.inspect(path) : .empty
        switch contents {
        case .foreign: throw StoreError.notAnEpisodeStore(location: path)
        case .empty where !configuration.createIfMissing: throw StoreError.storeNotFound(location: path)
        case .episodeStore(let applied): try SQLiteSchema.checkNotNewer(applied)
        case .empty: break
        }
        let writable =
            !configuration.readOnly
            && (exists ? FileManager.default.isWritableFile(atPath: path) : true)
            && FileManager.default.isWritableFile(atPath: folder)
        isReadOnly = !writable

        var config = Configuration()
        config.busyMode = .timeout(configuration.busyTimeout)
        config.prepareDatabase { db in
            // Memory-mapped reads: loading 100k vectors drops from ~180 to ~136 ms (NOTES.md).
            try db.execute(sql: "PRAGMA mmap_size = 1073741824")
            try AgentLexicalIndex.register(db)
        }
        do {
            if writable {
                let pool = try DatabasePool(path: path, configuration: config)
                try SQLiteSchema.migrate(pool, to: SQLiteSchema.latest)
                reader = pool
                writer = pool
            } else {
                if case .episodeStore(let applied) = contents, applied.last != SQLiteSchema.latest {
                    throw StoreError.readOnly(location: path + " (its schema needs `episodic migrate`, which writes)")
                }
                config.readonly = true
                reader = try Self.openReadOnly(path, config)
                writer = nil
            }
            let registry = try Self.registerColumns(configuration.columns, in: reader, writer: writer)
            columns = registry.0
            stagingColumns = Mutex(registry.1)
            columnsGeneration = registry.2
        } catch let error as DatabaseError {
            throw Self.translate(error, path: path)
        }
        follower = SQLiteIndexFollower(
            columns: columns, reader: reader, path: path,
            retention: configuration.changeLogRetention)
        if let writer { try follower.pruneChangeLog(writer) }
    }

    /// Registers on `db` the tokenizer and SQL functions of the store's full-text index. A GRDB
    /// client other than the store that writes episodes or queries `episodes_fts` calls it from
    /// `Configuration.prepareDatabase`; without it such statements fail ("no such function" or
    /// "no such tokenizer") and write nothing.
    public static func prepareConnection(_ db: Database) throws { try AgentLexicalIndex.register(db) }

    /// What the file holds, read through a read-only connection (nothing is written).
    static func inspect(_ path: String) throws -> SQLiteSchema.Contents {
        var config = Configuration()
        config.readonly = true
        do {
            let queue = try openReadOnly(path, config)
            defer { try? queue.close() }
            return try queue.read { db in try SQLiteSchema.contents(db) }
        } catch let error as DatabaseError {
            throw translate(error, path: path)
        }
    }

    /// A read-only connection. A WAL database in a folder this process cannot write has no
    /// `-shm` file to share: it is opened immutable then (it cannot change under a reader that
    /// cannot write either, unless another user writes it — then reopen).
    static func openReadOnly(_ path: String, _ config: Configuration) throws -> DatabaseQueue {
        do {
            let queue = try DatabaseQueue(path: path, configuration: config)
            _ = try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
            return queue
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CANTOPEN || error.resultCode == .SQLITE_READONLY {
            let uri = "file:" + (path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path) + "?immutable=1"
            return try DatabaseQueue(path: uri, configuration: config)
        }
    }

    static func translate(_ error: DatabaseError, path: String) -> Error {
        switch error.resultCode {
        case .SQLITE_NOTADB, .SQLITE_CORRUPT: return StoreError.notADatabase(path: path)
        case .SQLITE_BUSY, .SQLITE_LOCKED: return StoreError.busy(location: path)
        case .SQLITE_READONLY: return StoreError.readOnly(location: path)
        case .SQLITE_CANTOPEN:
            return StoreError.unavailable(location: path, reason: "cannot open the file (permissions, or a missing folder)")
        case .SQLITE_FULL: return StoreError.unavailable(location: path, reason: "the disk is full")
        default: return error
        }
    }

    /// Records `requested` in a new store, or checks it against an existing store's registry.
    private static func registerColumns(_ requested: [VectorColumn], in reader: any DatabaseReader, writer: (any DatabaseWriter)?)
        throws -> ([VectorColumn], [String: VectorColumn], String)
    {
        func readRegistry(_ db: Database) throws -> ([VectorColumn], [String: VectorColumn], String) {
            var columns: [VectorColumn] = [], staging: [String: VectorColumn] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT name, role, dimension, model_id, model_sha256, replaces FROM vector_columns ORDER BY role, name")
            {
                let column = VectorColumn(
                    name: row["name"], role: VectorRole(rawValue: row["role"]) ?? .fast, dimension: row["dimension"],
                    modelID: row["model_id"], modelSHA256: row["model_sha256"])
                if let replaced: String = row["replaces"] { staging[replaced] = column } else { columns.append(column) }
            }
            let generation = try String.fetchOne(db, sql: "SELECT value FROM store_meta WHERE key = 'columns_generation'") ?? "1"
            return (columns, staging, generation)
        }
        let recorded = try reader.read(readRegistry)
        if recorded.0.isEmpty && !requested.isEmpty {
            guard let writer else {
                throw StoreError.columnMismatch(name: requested[0].name, recorded: "absent", requested: "a new column")
            }
            return try writer.write { db in
                for column in requested {
                    guard column.dimension > 0, !column.name.isEmpty, !column.name.contains("__") else {
                        throw StoreError.columnMismatch(name: column.name, recorded: "nothing", requested: "dimension \(column.dimension)")
                    }
                    try db.execute(
                        sql: """
                            INSERT INTO vector_columns(name, role, dimension, model_id, model_sha256, created_at)
                            VALUES (?, ?, ?, ?, ?, ?)
                            """,
                        arguments: [
                            column.name, column.role.rawValue, column.dimension, column.modelID,
                            column.modelSHA256, EpisodeTime.storedText(Date()),
                        ])
                }
                return try readRegistry(db)
            }
        }
        for column in requested {
            guard let existing = recorded.0.first(where: { $0.name == column.name }) else {
                throw StoreError.columnMismatch(name: column.name, recorded: "absent", requested: "\(column.dimension) dimensions")
            }
            if existing.dimension != column.dimension || existing.role != column.role {
                throw StoreError.columnMismatch(
                    name: column.name, recorded: "\(existing.role.rawValue), \(existing.dimension) dimensions",
                    requested: "\(column.role.rawValue), \(column.dimension) dimensions")
            }
        }
        return recorded
    }

    // MARK: - Transactions

    /// Runs `body` in a write transaction after checking that no other process replaced a
    /// column's model since this one opened the store. `effects` collects what the transaction
    /// did to vectors, which is applied to this process's indexes without reading it back.
    func write<T>(_ body: (Database, inout [IndexEffect]) throws -> T) throws -> T {
        guard let writer else { throw StoreError.readOnly(location: path) }
        let outcome: (T, [IndexEffect], Int64, Int64)
        do {
            outcome = try writer.write { db in
                let generation = try String.fetchOne(db, sql: "SELECT value FROM store_meta WHERE key = 'columns_generation'") ?? "1"
                guard generation == columnsGeneration else { throw StoreError.columnsChanged(location: path) }
                let before = try SQLiteIndexFollower.lastChange(db)
                var effects: [IndexEffect] = []
                let result = try body(db, &effects)
                return (result, effects, before, try SQLiteIndexFollower.lastChange(db))
            }
        } catch let error as DatabaseError {
            throw Self.translate(error, path: path)
        }
        try follower.applyOwnWrite(outcome.1, after: outcome.2, through: outcome.3)
        return outcome.0
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try reader.read(body) } catch let error as DatabaseError { throw Self.translate(error, path: path) }
    }

    // MARK: - Maintenance

    public func stats() async throws -> StoreStats {
        let (episodes, agents, applied, counts) = try read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM episodes") ?? 0,
                try Int.fetchOne(db, sql: "SELECT count(DISTINCT agent_id) FROM episodes") ?? 0,
                try SQLiteSchema.applied(db),
                try Dictionary(
                    uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT column_name, count(*) FROM episode_vectors GROUP BY column_name")
                        .map { ($0[0] as String, $0[1] as Int) })
            )
        }
        var bytes: Int64 = 0
        for suffix in ["", "-wal"] {
            let attributes = try? FileManager.default.attributesOfItem(atPath: path + suffix)
            bytes += (attributes?[.size] as? NSNumber)?.int64Value ?? 0
        }
        return StoreStats(
            location: path, backend: "sqlite", schemaVersion: applied.last ?? "none", episodes: episodes, agents: agents,
            columns: columns.map { .init(column: $0, vectors: counts[$0.name] ?? 0) }, bytes: bytes)
    }

    public func appliedMigrations() async throws -> [String] {
        try read { db in try SQLiteSchema.applied(db) }
    }

    public func close() async {
        guard
            closed.withLock({ wasClosed in
                defer { wasClosed = true }; return !wasClosed
            })
        else { return }
        await lexicalMemory.close()
        follower.close()
        // Move the WAL's pages into the main file (without waiting for other processes' readers),
        // so that a closed store is one self-contained file.
        _ = try? await writer?.writeWithoutTransaction { db in try db.checkpoint(.passive) }
        do { try (reader as? DatabasePool)?.close() } catch { logger.warning("closing \(path): \(error)") }
        try? (reader as? DatabaseQueue)?.close()
    }

    // MARK: - Migrations of a file

    /// Migrations recorded in the database at `path`, oldest first (read-only).
    public static func appliedMigrations(path: String) throws -> [String] {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError.storeNotFound(location: path) }
        switch try inspect(path) {
        case .empty: throw StoreError.storeNotFound(location: path)
        case .foreign: throw StoreError.notAnEpisodeStore(location: path)
        case .episodeStore(let applied): return applied
        }
    }

    /// Brings the store at `path` to `target` (default: the latest migration), upgrading or
    /// downgrading; returns the migrations applied afterwards. A store newer than this code, or a
    /// database of another program, is refused before anything is written.
    @discardableResult
    public static func migrate(path: String, to target: String? = nil) throws -> [String] {
        let applied = try appliedMigrations(path: path)
        try SQLiteSchema.checkNotNewer(applied)
        let target = target ?? SQLiteSchema.latest
        guard SQLiteSchema.versions.contains(target) else { throw StoreError.unknownMigration(target, known: SQLiteSchema.versions) }
        if applied.last == target { return applied }
        guard FileManager.default.isWritableFile(atPath: path) else { throw StoreError.readOnly(location: path) }
        var config = Configuration()
        config.busyMode = .timeout(10)
        // Migrations to and from v7 rebuild the full-text index, which needs the agent tokenizer.
        config.prepareDatabase { db in try AgentLexicalIndex.register(db) }
        do {
            let pool = try DatabasePool(path: path, configuration: config)
            defer { try? pool.close() }
            try SQLiteSchema.migrate(pool, to: target)
            return try pool.read { db in try SQLiteSchema.applied(db) }
        } catch let error as DatabaseError {
            throw translate(error, path: path)
        }
    }
}
