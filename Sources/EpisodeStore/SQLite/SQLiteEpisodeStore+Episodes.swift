import Foundation
import GRDB
import VectorSearch

extension SQLiteEpisodeStore {
    public func add(_ batch: [NewEpisode]) async throws -> [Episode] {
        // Everything is validated before the database is touched.
        var prepared: [(Episode, [(VectorColumn, [Float])])] = []
        prepared.reserveCapacity(batch.count)
        let now = EpisodeTime.truncated(Date())
        var seen = Set<[String]>()
        for item in batch {
            try validate(item.episode)
            guard seen.insert([item.episode.agentID, item.episode.id]).inserted else { throw StoreError.duplicateEpisode(item.episode.id) }
            var stored = item.episode
            stored.createdAt = EpisodeTime.truncated(stored.createdAt)
            stored.fastembedCached = false; stored.fastembedCachedAt = nil
            stored.embeddingCached = false; stored.embeddingCachedAt = nil
            var vectors: [(VectorColumn, [Float])] = []
            for (name, vector) in item.vectors.sorted(by: { $0.key < $1.key }) {
                let column = try column(named: name)
                do { try column.validate(vector) } catch { throw StoreError.vector(error) }
                vectors.append((column, vector))
                switch column.role {
                case .fast: stored.fastembedCached = true; stored.fastembedCachedAt = now
                case .quality: stored.embeddingCached = true; stored.embeddingCachedAt = now
                }
            }
            prepared.append((stored, vectors))
        }
        try write { db, effects in
            let insertEpisode = try db.cachedStatement(
                sql: """
                    INSERT INTO episodes(\(SQLiteRows.episodeColumns), updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            let insertVector = try db.cachedStatement(
                sql: """
                    INSERT INTO episode_vectors(agent_id, episode_id, column_name, vector) VALUES (?, ?, ?, ?)
                    """)
            for (episode, vectors) in prepared {
                do {
                    try insertEpisode.execute(arguments: Self.arguments(episode) + [EpisodeTime.storedText(episode.createdAt)])
                } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                    throw StoreError.duplicateEpisode(episode.id)
                }
                for (column, vector) in vectors {
                    try insertVector.execute(arguments: [episode.agentID, episode.id, column.name, SQLiteRows.encode(vector)])
                    effects.append(IndexEffect(column: column.name, agentID: episode.agentID, episodeID: episode.id, vector: vector))
                }
            }
        }
        return prepared.map(\.0)
    }

    static func arguments(_ e: Episode) -> StatementArguments {
        [
            e.agentID, e.id, e.content, e.summary, JSONValue.jsonText(of: e.metadata), EpisodeTime.storedText(e.createdAt),
            e.embeddingCached, e.embeddingCachedAt.map(EpisodeTime.storedText), e.fastembedCached,
            e.fastembedCachedAt.map(EpisodeTime.storedText),
        ]
    }

    public func episode(agentID: String, id: String) async throws -> Episode? {
        try read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT \(SQLiteRows.episodeColumns) FROM episodes WHERE agent_id = ? AND id = ?",
                    arguments: [agentID, id])
            else { return nil }
            return try SQLiteRows.episode(row)
        }
    }

    public func episodes(agentID: String, ids: [String]) async throws -> [Episode] {
        guard !ids.isEmpty else { return [] }
        let rows = try read { db in
            var rows: [Row] = []
            for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min(ids.count, $0 + 500)]) }) {
                let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                rows += try Row.fetchAll(
                    db, sql: "SELECT \(SQLiteRows.episodeColumns) FROM episodes WHERE agent_id = ? AND id IN (\(placeholders))",
                    arguments: StatementArguments([agentID] + chunk))
            }
            return rows
        }
        let byID = Dictionary(SQLiteRows.episodes(rows, log: logUnreadable).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        return ids.compactMap { byID[$0] }
    }

    public func episodes(agentID: String, limit: Int, after position: PagePosition?) async throws -> [Episode] {
        let rows = try read { db in
            if let position {
                let created = EpisodeTime.storedText(position.createdAt)
                return try Row.fetchAll(
                    db,
                    sql: """
                        SELECT \(SQLiteRows.episodeColumns) FROM episodes
                        WHERE agent_id = ? AND (created_at < ? OR (created_at = ? AND id < ?))
                        ORDER BY created_at DESC, id DESC LIMIT ?
                        """, arguments: [agentID, created, created, position.id, limit])
            }
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT \(SQLiteRows.episodeColumns) FROM episodes WHERE agent_id = ? ORDER BY created_at DESC, id DESC LIMIT ?
                    """, arguments: [agentID, limit])
        }
        return SQLiteRows.episodes(rows, log: logUnreadable)
    }

    public func delete(agentID: String, id: String) async throws -> Bool {
        try write { db, effects in
            try db.execute(sql: "DELETE FROM episodes WHERE agent_id = ? AND id = ?", arguments: [agentID, id])
            guard db.changesCount > 0 else { return false }
            for column in columns { effects.append(IndexEffect(column: column.name, agentID: agentID, episodeID: id, vector: nil)) }
            return true
        }
    }

    public func agentEpisodeCounts() async throws -> [String: Int] {
        try read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT agent_id, count(*) FROM episodes GROUP BY agent_id") {
                if let agent = SQLiteRows.text(row[0]) { counts[agent] = row[1] }
            }
            return counts
        }
    }

    public func agentExists(_ agentID: String) async throws -> Bool {
        try read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM episodes WHERE agent_id = ?)", arguments: [agentID]) ?? false
        }
    }

    func logUnreadable(_ error: StoreError) {
        logger.error("skipped an unreadable row: \(error)", metadata: ["store": "\(path)"])
    }
}
