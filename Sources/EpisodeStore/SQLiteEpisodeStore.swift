import Foundation
import GRDB
import Logging
import Synchronization
import VectorSearch

/// How to open a store.
public struct StoreConfiguration: Sendable {
    /// The vector columns of a new store. For an existing store the recorded columns are
    /// authoritative; a requested column that contradicts them is a ``StoreError/columnMismatch``.
    public var columns: [VectorColumn]
    /// Create the database file when it does not exist (`episodic init`); otherwise a missing
    /// file is ``StoreError/storeNotFound(path:)``.
    public var createIfMissing: Bool
    /// How long a write waits for another writer (another process) before ``StoreError/busy``.
    public var busyTimeout: TimeInterval
    /// Largest `content` or `summary`, in UTF-8 bytes.
    public var maxTextBytes: Int
    /// Change-log entries kept for other processes to catch up from; a process further behind
    /// reloads its indexes from the tables.
    public var changeLogRetention: Int

    public init(columns: [VectorColumn] = [], createIfMissing: Bool = false, busyTimeout: TimeInterval = 10,
                maxTextBytes: Int = 1 << 20, changeLogRetention: Int = 100_000) {
        self.columns = columns
        self.createIfMissing = createIfMissing
        self.busyTimeout = busyTimeout
        self.maxTextBytes = maxTextBytes
        self.changeLogRetention = changeLogRetention
    }
}

/// Counts and facts about a store.
public struct StoreStats: Sendable, Equatable {
    public struct Column: Sendable, Equatable {
        public var column: VectorColumn
        public var vectors: Int
    }
    public var path: String
    public var schemaVersion: String
    public var episodes: Int
    public var agents: Int
    public var columns: [Column]
    public var fileBytes: Int64
}

/// The embedded default store: one SQLite file (WAL, one writer and many readers, safe for several
/// processes), migrations with downgrade, vector columns with enforced dimensions, and an
/// in-memory exact index per column kept in step with every write — this process's and others'.
///
/// ```swift
/// let store = try SQLiteEpisodeStore(path: "memory.sqlite", configuration: .init(
///     columns: [VectorColumn(name: "vector_fastembed", role: .fast, dimension: 384, modelID: "all-MiniLM-L6-v2")],
///     createIfMissing: true))
/// try store.add(Episode(agentID: "a", content: "booked a flight"), vectors: ["vector_fastembed": v])
/// let hits = try store.similaritySearch(vector: q, column: "vector_fastembed", topK: 100, agentID: "a")
/// ```
public final class SQLiteEpisodeStore: Sendable {
    public let path: String
    public let configuration: StoreConfiguration
    /// The vector columns, as recorded in the database.
    public let columns: [VectorColumn]
    let pool: DatabasePool
    /// A connection used only to read `PRAGMA data_version`, which changes whenever another
    /// connection (another process, or this process's writer) commits.
    private let watcher: DatabaseQueue
    private let indexes: [String: VectorIndex]
    private let sync = Mutex(SyncState())
    private let logger = Logger(label: "episodic.store")

    struct SyncState {
        /// Whether the indexes hold the vectors (they are loaded on the first search, so that
        /// commands that never search — add, get, stats — open a large store instantly).
        var loaded = false
        var lastSeq: Int64 = 0
        var dataVersion: Int64 = -1
    }

    /// Opens (and migrates to the latest schema) the store at `path`.
    public init(path: String, configuration: StoreConfiguration = .init()) throws {
        self.path = path
        self.configuration = configuration
        let exists = FileManager.default.fileExists(atPath: path)
        if !exists && !configuration.createIfMissing { throw StoreError.storeNotFound(path: path) }
        if exists { try Self.checkExistingFile(path) }

        var config = Configuration()
        config.busyMode = .timeout(configuration.busyTimeout)
        config.prepareDatabase { db in
            // Memory-mapped reads: loading 100k vectors drops from ~180 to ~136 ms (NOTES.md).
            try db.execute(sql: "PRAGMA mmap_size = 1073741824")
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try pool.writeWithoutTransaction { db in try StoreSchema.checkNotNewer(db) }
            try StoreSchema.migrator().migrate(pool)
            columns = try Self.registerColumns(configuration.columns, in: pool)
            var watcherConfig = Configuration()
            watcherConfig.readonly = true
            watcherConfig.busyMode = .timeout(configuration.busyTimeout)
            watcher = try DatabaseQueue(path: path, configuration: watcherConfig)
        } catch let error as DatabaseError {
            throw Self.translate(error, path: path)
        }
        var indexes: [String: VectorIndex] = [:]
        for column in columns { indexes[column.name] = VectorIndex(column: column) }
        self.indexes = indexes
        try pruneChangeLog()
    }

    /// Refuses, without modifying it, a file that is not a database or was written by newer code.
    private static func checkExistingFile(_ path: String) throws {
        var config = Configuration()
        config.readonly = true
        do {
            let queue = try DatabaseQueue(path: path, configuration: config)
            try queue.read { db in
                _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master")
                try StoreSchema.checkNotNewer(db)
            }
            try queue.close()
        } catch let error as DatabaseError {
            throw translate(error, path: path)
        }
    }

    static func translate(_ error: DatabaseError, path: String) -> Error {
        switch error.resultCode {
        case .SQLITE_NOTADB, .SQLITE_CORRUPT: return StoreError.notADatabase(path: path)
        case .SQLITE_BUSY, .SQLITE_LOCKED: return StoreError.busy(path: path)
        default: return error
        }
    }

    /// Records `requested` in a new store, or checks it against an existing store's registry.
    private static func registerColumns(_ requested: [VectorColumn], in pool: DatabasePool) throws -> [VectorColumn] {
        try pool.write { db in
            let recorded = try Row.fetchAll(db, sql: "SELECT * FROM vector_columns ORDER BY role, name").map { row in
                VectorColumn(name: row["name"], role: VectorRole(rawValue: row["role"]) ?? .fast, dimension: row["dimension"],
                             modelID: row["model_id"], modelSHA256: row["model_sha256"])
            }
            if recorded.isEmpty {
                for column in requested {
                    guard column.dimension > 0, !column.name.isEmpty else {
                        throw StoreError.columnMismatch(name: column.name, recorded: "nothing", requested: "dimension \(column.dimension)")
                    }
                    try db.execute(sql: """
                        INSERT INTO vector_columns(name, role, dimension, model_id, model_sha256, created_at)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """, arguments: [column.name, column.role.rawValue, column.dimension, column.modelID,
                                         column.modelSHA256, Date()])
                }
                return requested
            }
            for column in requested {
                guard let existing = recorded.first(where: { $0.name == column.name }) else {
                    throw StoreError.columnMismatch(name: column.name, recorded: "absent", requested: "\(column.dimension) dimensions")
                }
                if existing.dimension != column.dimension || existing.role != column.role {
                    throw StoreError.columnMismatch(name: column.name, recorded: "\(existing.role.rawValue), \(existing.dimension) dimensions",
                                                    requested: "\(column.role.rawValue), \(column.dimension) dimensions")
                }
            }
            return recorded
        }
    }

    // MARK: - Columns

    /// The column called `name`.
    public func column(named name: String) throws -> VectorColumn {
        guard let column = columns.first(where: { $0.name == name }) else { throw StoreError.vector(.unknownColumn(name)) }
        return column
    }

    /// The column holding the `role` vectors, if the store has one.
    public func column(role: VectorRole) -> VectorColumn? { columns.first { $0.role == role } }

    // MARK: - Writing

    /// Adds an episode and its vectors (keyed by column name) in one transaction.
    /// Returns the episode as stored (cache flags set, timestamp at millisecond precision).
    @discardableResult
    public func add(_ episode: Episode, vectors: [String: [Float]] = [:]) throws -> Episode {
        try add([(episode, vectors)])[0]
    }

    /// Adds episodes and their vectors in one transaction: all of them, or — on any error —
    /// none. Everything is validated before the database is touched.
    @discardableResult
    public func add(_ batch: [(episode: Episode, vectors: [String: [Float]])]) throws -> [Episode] {
        var prepared: [(Episode, [(VectorColumn, Data)])] = []
        prepared.reserveCapacity(batch.count)
        let now = Self.databaseDate(Date())
        var seen = Set<String>()
        for (episode, vectors) in batch {
            try validate(episode)
            guard seen.insert(episode.id).inserted else { throw StoreError.duplicateEpisode(episode.id) }
            var stored = episode
            stored.createdAt = Self.databaseDate(episode.createdAt)
            stored.fastembedCached = false; stored.fastembedCachedAt = nil
            stored.embeddingCached = false; stored.embeddingCachedAt = nil
            var encoded: [(VectorColumn, Data)] = []
            for (name, vector) in vectors.sorted(by: { $0.key < $1.key }) {
                let column = try column(named: name)
                do { try column.validate(vector) } catch { throw StoreError.vector(error) }
                encoded.append((column, Self.encode(vector)))
                switch column.role {
                case .fast: stored.fastembedCached = true; stored.fastembedCachedAt = now
                case .quality: stored.embeddingCached = true; stored.embeddingCachedAt = now
                }
            }
            prepared.append((stored, encoded))
        }
        try write { db in
            for (episode, vectors) in prepared {
                do {
                    try episode.insert(db)
                } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                    if try Episode.exists(db, key: episode.id) { throw StoreError.duplicateEpisode(episode.id) }
                    throw error
                }
                for (column, data) in vectors {
                    try db.execute(sql: "INSERT INTO episode_vectors(episode_id, column_name, vector) VALUES (?, ?, ?)",
                                   arguments: [episode.id, column.name, data])
                }
            }
        }
        return prepared.map(\.0)
    }

    /// Stores (or replaces) the vector of `episodeID` in `column` and sets the episode's cache flag.
    public func setVector(_ vector: [Float], column name: String, episodeID: String) throws {
        let column = try column(named: name)
        do { try column.validate(vector) } catch { throw StoreError.vector(error) }
        let data = Self.encode(vector)
        try write { db in
            guard try Episode.exists(db, key: episodeID) else { throw StoreError.episodeNotFound(episodeID) }
            try db.execute(sql: "INSERT OR REPLACE INTO episode_vectors(episode_id, column_name, vector) VALUES (?, ?, ?)",
                           arguments: [episodeID, column.name, data])
            try Self.setCacheFlag(db, role: column.role, episodeID: episodeID, cached: true)
        }
    }

    /// Stores many vectors of one column in one transaction (backfill); episodes deleted meanwhile
    /// are skipped.
    public func setVectors(_ vectors: [(episodeID: String, vector: [Float])], column name: String) throws {
        let column = try column(named: name)
        for entry in vectors { do { try column.validate(entry.vector) } catch { throw StoreError.vector(error) } }
        try write { db in
            for (episodeID, vector) in vectors where try Episode.exists(db, key: episodeID) {
                try db.execute(sql: "INSERT OR REPLACE INTO episode_vectors(episode_id, column_name, vector) VALUES (?, ?, ?)",
                               arguments: [episodeID, column.name, Self.encode(vector)])
                try Self.setCacheFlag(db, role: column.role, episodeID: episodeID, cached: true)
            }
        }
    }

    /// Number of episodes.
    public func episodeCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM episodes") ?? 0 }
    }

    /// Removes the vector of `episodeID` in `column`; returns whether there was one.
    @discardableResult
    public func deleteVector(column name: String, episodeID: String) throws -> Bool {
        let column = try column(named: name)
        return try write { db in
            try db.execute(sql: "DELETE FROM episode_vectors WHERE episode_id = ? AND column_name = ?",
                           arguments: [episodeID, column.name])
            let deleted = db.changesCount > 0
            if deleted { try Self.setCacheFlag(db, role: column.role, episodeID: episodeID, cached: false) }
            return deleted
        }
    }

    /// Deletes an episode and all its vectors; returns whether it existed.
    @discardableResult
    public func delete(id: String) throws -> Bool {
        try write { db in try Episode.deleteOne(db, key: id) }
    }

    private static func setCacheFlag(_ db: Database, role: VectorRole, episodeID: String, cached: Bool) throws {
        let columns = role == .fast ? ("fastembed_cached", "fastembed_cached_at") : ("embedding_cached", "embedding_cached_at")
        try db.execute(sql: "UPDATE episodes SET \(columns.0) = ?, \(columns.1) = ? WHERE id = ?",
                       arguments: [cached, cached ? databaseDate(Date()) : nil, episodeID])
    }

    /// Runs `body` in a write transaction, then brings the indexes up to date.
    private func write<T>(_ body: (Database) throws -> T) throws -> T {
        let result: T
        do {
            result = try pool.write(body)
        } catch let error as DatabaseError {
            throw Self.translate(error, path: path)
        }
        try synchronize(force: true)
        return result
    }

    /// Checks an episode against the store's rules (ids, text sizes) without storing it.
    public func validate(_ episode: Episode) throws {
        func bad(_ reason: String) -> StoreError { .invalidEpisode(id: episode.id, reason: reason) }
        func checkIdentifier(_ value: String, _ name: String) throws {
            if value.isEmpty { throw bad("\(name) is empty") }
            if value.utf8.count > 256 { throw bad("\(name) is longer than 256 bytes") }
            if value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                throw bad("\(name) contains control characters")
            }
        }
        try checkIdentifier(episode.id, "id")
        try checkIdentifier(episode.agentID, "agent_id")
        if episode.content.allSatisfy(\.isWhitespace) { throw bad("content is empty") }
        let limit = configuration.maxTextBytes
        if episode.content.utf8.count > limit {
            throw StoreError.textTooLarge(id: episode.id, field: "content", bytes: episode.content.utf8.count, limit: limit)
        }
        if let summary = episode.summary {
            if summary.allSatisfy(\.isWhitespace) { throw bad("summary is empty (omit it instead)") }
            if summary.utf8.count > limit { throw StoreError.textTooLarge(id: episode.id, field: "summary", bytes: summary.utf8.count, limit: limit) }
        }
    }

    // MARK: - Reading

    /// The episode with `id`, if any.
    public func episode(id: String) throws -> Episode? {
        try read { db in try Episode.fetchOne(db, key: id) }
    }

    /// Episodes of `agentID`, newest first, `limit` at a time; pass the last episode of a page as
    /// `after` to get the next page.
    public func episodes(agentID: String, limit: Int, after last: Episode? = nil) throws -> [Episode] {
        try read { db in
            if let last {
                return try Episode.fetchAll(db, sql: """
                    SELECT * FROM episodes WHERE agent_id = ? AND (created_at < ? OR (created_at = ? AND id < ?))
                    ORDER BY created_at DESC, id DESC LIMIT ?
                    """, arguments: [agentID, last.createdAt, last.createdAt, last.id, limit])
            }
            return try Episode.fetchAll(db, sql: "SELECT * FROM episodes WHERE agent_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
                                        arguments: [agentID, limit])
        }
    }

    /// Episodes by id, in the order of `ids`; unknown ids are skipped.
    public func episodes(ids: [String]) throws -> [Episode] {
        let found = try read { db in try Episode.fetchAll(db, keys: ids) }
        let byID = Dictionary(found.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        return ids.compactMap { byID[$0] }
    }

    /// The stored vector of `episodeID` in `column`, if any.
    public func vector(column name: String, episodeID: String) throws -> [Float]? {
        _ = try column(named: name)
        return try read { db in
            try Data.fetchOne(db, sql: "SELECT vector FROM episode_vectors WHERE episode_id = ? AND column_name = ?",
                              arguments: [episodeID, name]).map(Self.decode)
        }
    }

    /// Ids of episodes (oldest first) that have no vector in `column`, at most `limit`.
    public func episodesMissingVector(column name: String, limit: Int) throws -> [Episode] {
        _ = try column(named: name)
        return try read { db in
            try Episode.fetchAll(db, sql: """
                SELECT * FROM episodes e WHERE NOT EXISTS
                    (SELECT 1 FROM episode_vectors v WHERE v.episode_id = e.id AND v.column_name = ?)
                ORDER BY created_at, id LIMIT ?
                """, arguments: [name, limit])
        }
    }

    /// Number of episodes per agent.
    public func agentEpisodeCounts() throws -> [String: Int] {
        try read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT agent_id, count(*) AS n FROM episodes GROUP BY agent_id") {
                counts[row["agent_id"]] = row["n"]
            }
            return counts
        }
    }

    /// Whether `agentID` has at least one episode.
    public func agentExists(_ agentID: String) throws -> Bool {
        try read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM episodes WHERE agent_id = ?)", arguments: [agentID]) ?? false }
    }

    /// Vectors stored in `column`.
    public func vectorCount(column name: String) throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM episode_vectors WHERE column_name = ?", arguments: [name]) ?? 0 }
    }

    public func stats() throws -> StoreStats {
        let (episodes, agents, applied) = try read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM episodes") ?? 0,
             try Int.fetchOne(db, sql: "SELECT count(DISTINCT agent_id) FROM episodes") ?? 0,
             try StoreSchema.applied(db))
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes?[.size] as? NSNumber)?.int64Value ?? 0
        return StoreStats(path: path, schemaVersion: applied.last ?? "none", episodes: episodes, agents: agents,
                          columns: try columns.map { .init(column: $0, vectors: try vectorCount(column: $0.name)) }, fileBytes: size)
    }

    private func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try pool.read(body) } catch let error as DatabaseError { throw Self.translate(error, path: path) }
    }

    // MARK: - Search

    /// The `topK` episodes of `agentID` whose `column` vector has the largest inner product with
    /// `vector`, best first (ties by id): exactly `min(topK, vectors of that agent)` results.
    /// Writes made by other processes since the last call are picked up first.
    public func similaritySearch(vector: [Float], column name: String, topK: Int, agentID: String) throws -> [ScoredEpisode] {
        let column = try column(named: name)
        do { try column.validate(vector) } catch { throw StoreError.vector(error) }
        try synchronize(force: false)
        let index = indexes[column.name]!
        if index.count(agentID: agentID) == 0, !(try agentExists(agentID)) { throw StoreError.unknownAgent(agentID) }
        do { return try index.search(vector, agentID: agentID, topK: topK) } catch { throw StoreError.vector(error) }
    }

    /// The `topK` episodes of `agentID` ranked by BM25 over their embedded text (SQLite FTS5,
    /// Porter stemming), best first; scores are positive (higher is better). Empty when the
    /// query has no searchable word.
    public func lexicalSearch(query: String, topK: Int, agentID: String) throws -> [(episodeID: String, score: Double)] {
        guard let expression = LexicalQuery.matchExpression(for: query), topK > 0 else { return [] }
        // FTS5's `rank` (bm25 by default) sorts twice as fast as ORDER BY bm25(…), id; ties are
        // then ordered by id here.
        let hits: [(episodeID: String, score: Double)] = try read { db in
            try Row.fetchAll(db, sql: """
                SELECT episode_id, -rank AS score FROM episodes_fts
                WHERE episodes_fts MATCH ? AND agent_id = ?
                ORDER BY rank LIMIT ?
                """, arguments: [expression, agentID, topK]).map { ($0[0], $0[1]) }
        }
        return hits.sorted { $0.score != $1.score ? $0.score > $1.score : $0.episodeID < $1.episodeID }
    }

    /// The in-memory index of `column`, loaded and up to date (for callers that search many times
    /// per request; call ``synchronize(force:)`` before each batch of searches).
    public func index(column name: String) throws -> VectorIndex {
        guard let index = indexes[name] else { throw StoreError.vector(.unknownColumn(name)) }
        try synchronize(force: false)
        return index
    }

    // MARK: - Keeping the indexes in step

    /// Brings the indexes up to date: loads them on first use, then applies the vector changes
    /// committed since the last call (by any process). Without `force`, does nothing unless the
    /// database changed (one `PRAGMA data_version`).
    public func synchronize(force: Bool = false) throws {
        try sync.withLock { state in
            let version = try watcher.read { db in try Int64.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
            if !state.loaded {
                // Writes before the first search need no catching up: the load reads them.
                guard !force else { return }
                state.lastSeq = try loadAll()
                state.dataVersion = version
                state.loaded = true
                return
            }
            if !force && version == state.dataVersion { return }
            state.dataVersion = version
            let (changes, prunedThrough) = try read { db -> ([(Int64, String, String)], Int64) in
                let pruned = try Int64.fetchOne(db, sql: "SELECT CAST(value AS INTEGER) FROM store_meta WHERE key = 'pruned_through'") ?? 0
                let rows = try Row.fetchAll(db, sql: "SELECT seq, episode_id, column_name FROM vector_changes WHERE seq > ? ORDER BY seq",
                                            arguments: [state.lastSeq])
                return (rows.map { ($0["seq"], $0["episode_id"], $0["column_name"]) }, pruned)
            }
            if prunedThrough > state.lastSeq {
                // Changes this process has not seen were pruned: rebuild from the tables.
                logger.debug("change log pruned past this process's position; reloading indexes")
                state.lastSeq = try loadAll()
                return
            }
            guard let last = changes.last?.0 else { return }
            var touched: [String: Set<String>] = [:]
            for (_, episode, column) in changes { touched[column, default: []].insert(episode) }
            try apply(touched)
            state.lastSeq = last
        }
    }

    /// Loads all vectors in one snapshot; returns the change-log position of that snapshot.
    /// One sequential pass over each table: owners from `episodes`, then every vector (a join
    /// would look each owner up in the episodes B-tree).
    private func loadAll() throws -> Int64 {
        try read { db in
            let seq = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM vector_changes") ?? 0
            var owners: [String: String] = [:]
            owners.reserveCapacity(try Int.fetchOne(db, sql: "SELECT count(*) FROM episodes") ?? 0)
            let episodes = try Row.fetchCursor(db, sql: "SELECT id, agent_id FROM episodes")
            var perAgent: [String: Int] = [:]
            while let row = try episodes.next() {
                let agent: String = row[1]
                owners[row[0] as String] = agent
                perAgent[agent, default: 0] += 1
            }
            var batches: [String: [(episodeID: String, agentID: String, vector: [Float])]] = [:]
            for index in indexes.values {
                index.removeAll()
                // Episodes per agent bound vectors per agent: room for all of them at once.
                index.reserve(vectorsPerAgent: perAgent)
            }
            let vectors = try Row.fetchCursor(db, sql: "SELECT episode_id, column_name, vector FROM episode_vectors")
            while let row = try vectors.next() {
                let id: String = row[0], columnName: String = row[1]
                guard let index = indexes[columnName], let agent = owners[id] else { continue }
                let vector = try row.withUnsafeData(atIndex: 2) { data in data.map(Self.decode) ?? [] }
                batches[columnName, default: []].append((id, agent, vector))
                if batches[columnName]!.count == 10_000 {
                    try index.upsert(batches[columnName]!)
                    batches[columnName]!.removeAll(keepingCapacity: true)
                }
            }
            for (columnName, batch) in batches { try indexes[columnName]!.upsert(batch) }
            return seq
        }
    }

    /// Re-reads the current vectors of the touched (column → episodes) and updates the indexes.
    private func apply(_ touched: [String: Set<String>]) throws {
        for (columnName, episodeIDs) in touched {
            guard let index = indexes[columnName] else { continue }
            let ids = Array(episodeIDs)
            var found: [(episodeID: String, agentID: String, vector: [Float])] = []
            try read { db in
                for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min(ids.count, $0 + 500)]) }) {
                    let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                    var arguments: [(any DatabaseValueConvertible)?] = [columnName]
                    arguments.append(contentsOf: chunk)
                    let rows = try Row.fetchAll(db, sql: """
                        SELECT v.episode_id, e.agent_id, v.vector FROM episode_vectors v JOIN episodes e ON e.id = v.episode_id
                        WHERE v.column_name = ? AND v.episode_id IN (\(placeholders))
                        """, arguments: StatementArguments(arguments))
                    for row in rows { found.append((row[0], row[1], Self.decode(row[2]))) }
                }
            }
            let present = Set(found.map(\.episodeID))
            for id in ids where !present.contains(id) { index.remove(episodeID: id) }
            try index.upsert(found)
        }
    }

    /// Keeps the change log to `changeLogRetention` entries.
    private func pruneChangeLog() throws {
        let keep = Int64(max(1000, configuration.changeLogRetention))
        try pool.write { db in
            let maxSeq = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM vector_changes") ?? 0
            let cutoff = maxSeq - keep
            let minSeq = try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM vector_changes")
            guard cutoff > 0, let minSeq, minSeq <= cutoff else { return }
            try db.execute(sql: "DELETE FROM vector_changes WHERE seq <= ?", arguments: [cutoff])
            try db.execute(sql: "INSERT OR REPLACE INTO store_meta(key, value) VALUES ('pruned_through', ?)", arguments: [String(cutoff)])
        }
    }

    // MARK: - Encoding

    /// Float32, little-endian, as stored in `episode_vectors.vector`.
    static func encode(_ vector: [Float]) -> Data {
        vector.withUnsafeBufferPointer { Data(buffer: $0) }
    }

    static func decode(_ data: Data) -> [Float] {
        [Float](unsafeUninitializedCapacity: data.count / 4) { buffer, count in
            _ = data.copyBytes(to: UnsafeMutableRawBufferPointer(buffer))
            count = data.count / 4
        }
    }

    /// The text the store keeps for `date` (its `created_at` column), for opaque page cursors.
    public static func storedText(of date: Date) -> String {
        String.fromDatabaseValue(date.databaseValue) ?? ""
    }

    /// The date of a ``storedText(of:)`` text.
    public static func date(fromStoredText text: String) -> Date? {
        Date.fromDatabaseValue(text.databaseValue)
    }

    /// Dates at the precision the database keeps (milliseconds), so that an episode reads back
    /// equal to what was written.
    static func databaseDate(_ date: Date) -> Date {
        Date.fromDatabaseValue(date.databaseValue) ?? date
    }
}
