import Foundation
import GRDB
import VectorSearch

extension SQLiteEpisodeStore {
    /// A column of this store or the staging column of a re-embedding.
    func writableColumn(named name: String) throws -> VectorColumn {
        if let column = columns.first(where: { $0.name == name }) { return column }
        if let staging = stagingColumns.withLock({ $0.values.first { $0.name == name } }) { return staging }
        throw StoreError.vector(.unknownColumn(name))
    }

    @discardableResult
    public func setVectors(_ vectors: [EpisodeVector], column name: String) async throws -> Int {
        let column = try writableColumn(named: name)
        for entry in vectors { do { try column.validate(entry.vector) } catch { throw StoreError.vector(error) } }
        let isStaging = !columns.contains(column)
        let flags = column.role == .fast ? ("fastembed_cached", "fastembed_cached_at") : ("embedding_cached", "embedding_cached_at")
        let now = EpisodeTime.storedText(Date())
        return try write { db, effects in
            let upsert = try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO episode_vectors(agent_id, episode_id, column_name, vector)
                    SELECT agent_id, id, ?, ? FROM episodes WHERE agent_id = ? AND id = ? AND (?5 IS NULL OR updated_at = ?5)
                    """)
            let flag = try db.cachedStatement(sql: "UPDATE episodes SET \(flags.0) = 1, \(flags.1) = ? WHERE agent_id = ? AND id = ?")
            var stored = 0
            for entry in vectors {
                try upsert.execute(arguments: [
                    column.name, SQLiteRows.encode(entry.vector), entry.agentID, entry.episodeID,
                    entry.basedOn.map(EpisodeTime.storedText),
                ])
                guard db.changesCount > 0 else { continue } // deleted or changed meanwhile
                stored += 1
                if !isStaging {
                    try flag.execute(arguments: [now, entry.agentID, entry.episodeID])
                    effects.append(
                        IndexEffect(column: column.name, agentID: entry.agentID, episodeID: entry.episodeID, vector: entry.vector))
                }
            }
            return stored
        }
    }

    public func vectors(column name: String, agentID: String, episodeIDs: [String]) async throws -> [String: [Float]] {
        let column = try column(named: name)
        // The loaded index holds every vector of the column, kept in step with the database.
        if let index = try follower.loadedIndex(column.name) {
            var found: [String: [Float]] = [:]
            for id in episodeIDs { if let v = index.vector(agentID: agentID, episodeID: id) { found[id] = v } }
            return found
        }
        return try read { db in
            var found: [String: [Float]] = [:]
            for chunk in stride(from: 0, to: episodeIDs.count, by: 500).map({ Array(episodeIDs[$0..<min(episodeIDs.count, $0 + 500)]) }) {
                let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                for row in try Row.fetchAll(
                    db,
                    sql: """
                        SELECT episode_id, vector FROM episode_vectors WHERE column_name = ? AND agent_id = ? AND episode_id IN (\(placeholders))
                        """, arguments: StatementArguments([column.name, agentID] + chunk))
                {
                    found[row[0]] = SQLiteRows.decode(row[1])
                }
            }
            return found
        }
    }

    /// From the loaded index, in place; otherwise from the rows.
    public func scores(of vector: [Float], column name: String, agentID: String, episodeIDs: [String]) async throws -> [String: Float] {
        let column = try column(named: name)
        do { try column.validate(vector) } catch { throw StoreError.vector(error) }
        if let index = try follower.loadedIndex(column.name) {
            do { return try index.scores(of: vector, agentID: agentID, episodeIDs: episodeIDs) } catch { throw StoreError.vector(error) }
        }
        return try await vectors(column: name, agentID: agentID, episodeIDs: episodeIDs).mapValues { VectorKernels.dot($0, vector) }
    }

    public func episodesMissingVector(column name: String, limit: Int) async throws -> [Episode] {
        let column = try writableColumn(named: name)
        let rows = try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(SQLiteRows.episodeColumns) FROM episodes e WHERE NOT EXISTS
                        (SELECT 1 FROM episode_vectors v WHERE v.agent_id = e.agent_id AND v.episode_id = e.id AND v.column_name = ?)
                    ORDER BY created_at, agent_id, id LIMIT ?
                    """, arguments: [column.name, limit])
        }
        return SQLiteRows.episodes(rows, log: logUnreadable)
    }

    public func vectorCount(column name: String, agentID: String?) async throws -> Int {
        let column = try writableColumn(named: name)
        if let agentID, let index = try follower.loadedIndex(column.name) { return index.count(agentID: agentID) }
        return try read { db in
            if let agentID {
                return try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM episode_vectors WHERE column_name = ? AND agent_id = ?",
                    arguments: [column.name, agentID]) ?? 0
            }
            return try Int.fetchOne(db, sql: "SELECT count(*) FROM episode_vectors WHERE column_name = ?", arguments: [column.name]) ?? 0
        }
    }
}
