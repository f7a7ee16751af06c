import Foundation
import GRDB
import Logging
import Synchronization
import VectorSearch

/// What one write did to one vector: stored `vector`, or removed it (nil).
struct IndexEffect: Sendable {
    var column: String
    var agentID: String
    var episodeID: String
    var vector: [Float]?
}

/// Keeps this process's in-memory vector indexes equal to the database.
///
/// Every vector change, by any process, is logged by triggers in `vector_changes` (a sequence
/// number per change). The follower loads the indexes on the first search, then before each
/// search applies the changes logged since its position — cheaply skipped when `PRAGMA
/// data_version` says nothing was committed. This process's own writes are applied from the
/// vectors in hand, without reading them back; a process that fell behind a pruned log reloads.
final class SQLiteIndexFollower: Sendable {
    private let indexes: [String: VectorIndex]
    private let reader: any DatabaseReader
    private let path: String
    private let retention: Int
    /// A connection used only to read `PRAGMA data_version`, which changes whenever another
    /// connection (another process, or this process's writer) commits.
    private let watcher: DatabaseQueue?
    private let state = Mutex(State())
    private let logger = Logger(label: "episodic.store")

    struct State {
        /// Whether the indexes hold the vectors (loaded on the first search, so that commands that
        /// never search — add, get, stats — open a large store instantly).
        var loaded = false
        var lastSeq: Int64 = 0
        var dataVersion: Int64 = -1
        /// Reloads since the first load (the log was pruned past this process's position).
        var reloads = 0
    }

    /// Reloads since the first load.
    var reloads: Int { state.withLock { $0.reloads } }

    init(columns: [VectorColumn], reader: any DatabaseReader, path: String, retention: Int) {
        var indexes: [String: VectorIndex] = [:]
        for column in columns { indexes[column.name] = VectorIndex(column: column) }
        self.indexes = indexes
        self.reader = reader
        self.path = path
        self.retention = retention
        var config = Configuration()
        config.readonly = true
        watcher = (reader is DatabasePool) ? try? DatabaseQueue(path: path, configuration: config) : nil
    }

    /// Closes the change watcher's connection (the store is closing).
    func close() { try? watcher?.close() }

    /// The highest sequence number in the change log.
    /// The log's position: its last entry, or where it was pruned through when compaction
    /// emptied it.
    static func lastChange(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(
            db,
            sql: """
                SELECT MAX(COALESCE((SELECT MAX(seq) FROM vector_changes), 0),
                           COALESCE((SELECT CAST(value AS INTEGER) FROM store_meta WHERE key = 'pruned_through'), 0))
                """) ?? 0
    }

    /// The index of `column`, loaded and up to date.
    func index(_ column: String) throws -> VectorIndex {
        guard let index = indexes[column] else { throw StoreError.vector(.unknownColumn(column)) }
        try catchUp()
        return index
    }

    /// The index of `column` when it is loaded (brought up to date), else nil.
    func loadedIndex(_ column: String) throws -> VectorIndex? {
        guard let index = indexes[column], state.withLock({ $0.loaded }) else { return nil }
        try catchUp()
        return index
    }

    /// `PRAGMA data_version` of the watcher connection: it changes whenever any connection or
    /// process commits. Nil for stores without a watcher (a single connection).
    func committedVersion() throws -> Int64? {
        do {
            return try watcher?.read { db in try Int64.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
        } catch let error as DatabaseError {
            throw SQLiteEpisodeStore.translate(error, path: path)
        }
    }

    /// Loads the indexes on first use, then applies the changes committed since the last call.
    func catchUp() throws {
        try state.withLock { state in
            let version = try committedVersion() ?? 0
            do {
                if !state.loaded {
                    state.lastSeq = try loadAll()
                    state.dataVersion = version
                    state.loaded = true
                    return
                }
                if watcher != nil && version == state.dataVersion { return }
                state.dataVersion = version
                try applyLogged(through: nil, state: &state)
            } catch let error as DatabaseError {
                throw SQLiteEpisodeStore.translate(error, path: path)
            }
        }
    }

    /// Applies a committed write of this process: first the other processes' changes logged
    /// before it (read from the log), then its own effects from the vectors in hand — unless a
    /// search's catch-up, running between the commit and this call, has read them from the log
    /// already.
    func applyOwnWrite(_ effects: [IndexEffect], after before: Int64, through after: Int64) throws {
        try state.withLock { state in
            guard state.loaded else { return } // the first search's load will read it
            do {
                if state.lastSeq < before { try applyLogged(through: before, state: &state) }
                // Read from the log already (by a concurrent search, or a reload after pruning).
                // This once reloaded every index instead — emptying them under concurrent
                // searches, which then found nothing.
                if state.lastSeq >= after { return }
                if state.lastSeq != before {
                    // Part of the way: the rest is in the log.
                    try applyLogged(through: nil, state: &state)
                    return
                }
            } catch let error as DatabaseError {
                throw SQLiteEpisodeStore.translate(error, path: path)
            }
            for effect in effects {
                guard let index = indexes[effect.column] else { continue }
                if let vector = effect.vector {
                    try? index.upsert(episodeID: effect.episodeID, agentID: effect.agentID, vector: vector)
                } else {
                    index.remove(agentID: effect.agentID, episodeID: effect.episodeID)
                }
            }
            state.lastSeq = after
        }
    }

    /// Applies the logged changes after `state.lastSeq` (up to `limit`, or all) by re-reading the
    /// touched vectors; reloads when the log was pruned past this process's position.
    private func applyLogged(through limit: Int64?, state: inout State) throws {
        let (changes, prunedThrough) = try reader.read { db -> ([(Int64, String?, String, String)], Int64) in
            let pruned = try Int64.fetchOne(db, sql: "SELECT CAST(value AS INTEGER) FROM store_meta WHERE key = 'pruned_through'") ?? 0
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT seq, agent_id, episode_id, column_name FROM vector_changes WHERE seq > ? AND seq <= ? ORDER BY seq
                    """, arguments: [state.lastSeq, limit ?? Int64.max])
            return (rows.map { ($0[0], $0[1], $0[2], $0[3]) }, pruned)
        }
        if prunedThrough > state.lastSeq {
            logger.debug("change log pruned past this process's position; reloading indexes")
            try reload(&state)
            return
        }
        guard let last = changes.last?.0 else {
            if let limit { state.lastSeq = max(state.lastSeq, limit) }
            return
        }
        var touched: [String: Set<[String]>] = [:]
        for (_, agent, episode, column) in changes {
            guard let agent else { try reload(&state); return } // an entry from before v4
            touched[column, default: []].insert([agent, episode])
        }
        try apply(touched)
        state.lastSeq = max(last, limit ?? last)
    }

    private func reload(_ state: inout State) throws {
        state.lastSeq = try loadAll()
        state.reloads += 1
    }

    /// Loads all vectors in one snapshot; returns the change-log position of that snapshot. The
    /// vectors go into indexes built aside, which then replace the live ones' contents in one
    /// step each: searches running meanwhile (a reload after the log was pruned) see the old
    /// contents until then, never an emptied or partly filled index.
    private func loadAll() throws -> Int64 {
        try reader.read { db in
            let seq = try Self.lastChange(db)
            var perAgent: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT agent_id, count(*) FROM episodes GROUP BY agent_id") {
                if let agent = SQLiteRows.text(row[0]) { perAgent[agent] = row[1] }
            }
            let fresh = indexes.mapValues { VectorIndex(column: $0.column) }
            // Episodes per agent bound vectors per agent: room for all of them at once.
            for index in fresh.values { index.reserve(vectorsPerAgent: perAgent) }
            var batches: [String: [(episodeID: String, agentID: String, vector: [Float])]] = [:]
            let vectors = try Row.fetchCursor(db, sql: "SELECT agent_id, episode_id, column_name, vector FROM episode_vectors")
            while let row = try vectors.next() {
                let columnName: String = row[2]
                guard let index = fresh[columnName] else { continue }
                let vector = try row.withUnsafeData(atIndex: 3) { data in data.map(SQLiteRows.decode) ?? [] }
                guard vector.count == index.column.dimension else { continue }
                batches[columnName, default: []].append((row[1], row[0], vector))
                if batches[columnName]!.count == 10_000 {
                    try index.upsert(batches[columnName]!)
                    batches[columnName]!.removeAll(keepingCapacity: true)
                }
            }
            for (columnName, batch) in batches { try fresh[columnName]!.upsert(batch) }
            for (columnName, index) in indexes { index.replaceContents(with: fresh[columnName]!) }
            return seq
        }
    }

    /// Re-reads the current vectors of the touched (column → [agent, episode]) and updates the indexes.
    private func apply(_ touched: [String: Set<[String]>]) throws {
        for (columnName, keys) in touched {
            guard let index = indexes[columnName] else { continue }
            let keys = Array(keys)
            var found: [(episodeID: String, agentID: String, vector: [Float])] = []
            try reader.read { db in
                for chunk in stride(from: 0, to: keys.count, by: 400).map({ Array(keys[$0..<min(keys.count, $0 + 400)]) }) {
                    let values = Array(repeating: "(?, ?)", count: chunk.count).joined(separator: ",")
                    var arguments: [String] = [columnName]
                    for key in chunk { arguments += key }
                    let rows = try Row.fetchAll(
                        db,
                        sql: """
                            SELECT agent_id, episode_id, vector FROM episode_vectors
                            WHERE column_name = ? AND (agent_id, episode_id) IN (VALUES \(values))
                            """, arguments: StatementArguments(arguments))
                    for row in rows { found.append((row[1], row[0], SQLiteRows.decode(row[2]))) }
                }
            }
            let present = Set(found.map { [$0.agentID, $0.episodeID] })
            for key in keys where !present.contains(key) { index.remove(agentID: key[0], episodeID: key[1]) }
            do { try index.upsert(found) } catch { throw StoreError.columnsChanged(location: path) }
        }
    }

    /// Keeps the change log to `retention` entries.
    func pruneChangeLog(_ writer: any DatabaseWriter) throws {
        let keep = Int64(max(1000, retention))
        do {
            try writer.write { db in
                let maxSeq = try Self.lastChange(db)
                let cutoff = maxSeq - keep
                let minSeq = try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM vector_changes")
                guard cutoff > 0, let minSeq, minSeq <= cutoff else { return }
                try db.execute(sql: "DELETE FROM vector_changes WHERE seq <= ?", arguments: [cutoff])
                try db.execute(
                    sql: "INSERT OR REPLACE INTO store_meta(key, value) VALUES ('pruned_through', ?)", arguments: [String(cutoff)])
            }
        } catch let error as DatabaseError {
            throw SQLiteEpisodeStore.translate(error, path: path)
        }
    }
}
