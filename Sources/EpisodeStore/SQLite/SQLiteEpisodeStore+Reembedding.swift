import Foundation
import GRDB
import VectorSearch

extension SQLiteEpisodeStore {
    /// Records the staging column (or returns the one already recorded for the same model: an
    /// interrupted re-embedding resumes).
    public func beginReembedding(of name: String, with replacement: VectorColumn) async throws -> VectorColumn {
        let column = try column(named: name)
        let staging = VectorColumn(
            name: ReembeddingColumn.name(for: column.name), role: column.role,
            dimension: replacement.dimension, modelID: replacement.modelID, modelSHA256: replacement.modelSHA256)
        guard staging.dimension > 0 else { throw StoreError.reembedding(column: name, reason: "dimension \(staging.dimension) is invalid") }
        try write { db, _ in
            if let row = try Row.fetchOne(
                db, sql: "SELECT dimension, model_id, model_sha256 FROM vector_columns WHERE name = ?",
                arguments: [staging.name])
            {
                let same =
                    (row[0] as Int) == staging.dimension && (row[1] as String) == staging.modelID
                    && (row[2] as String) == staging.modelSHA256
                if same { return }
                throw StoreError.reembedding(
                    column: name,
                    reason:
                        "another re-embedding (to \(row[1] as String)) is in progress; finish it or cancel it with `episodic reembed --column \(name) --cancel`"
                )
            }
            try db.execute(
                sql: """
                    INSERT INTO vector_columns(name, role, dimension, model_id, model_sha256, created_at, replaces)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    staging.name, staging.role.rawValue, staging.dimension, staging.modelID, staging.modelSHA256,
                    EpisodeTime.storedText(Date()), column.name,
                ])
        }
        stagingColumns.withLock { $0[column.name] = staging }
        return staging
    }

    public func finishReembedding(of name: String) async throws -> Bool {
        let column = try column(named: name)
        let stagingName = ReembeddingColumn.name(for: column.name)
        let flags = column.role == .fast ? ("fastembed_cached", "fastembed_cached_at") : ("embedding_cached", "embedding_cached_at")
        let finished = try write { db, _ -> Bool in
            guard
                let staging = try Row.fetchOne(
                    db, sql: "SELECT dimension, model_id, model_sha256 FROM vector_columns WHERE name = ?",
                    arguments: [stagingName])
            else {
                throw StoreError.reembedding(column: name, reason: "no re-embedding in progress")
            }
            let missing =
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT count(*) FROM episodes e WHERE NOT EXISTS (SELECT 1 FROM episode_vectors v
                            WHERE v.agent_id = e.agent_id AND v.episode_id = e.id AND v.column_name = ?)
                        """, arguments: [stagingName]) ?? 0
            if missing > 0 { return false }
            // The old vectors go, the staging vectors take the column's name, and the column its
            // new model — in this one transaction. The dimension triggers check each row against
            // its column: the new dimension is recorded before the rows are renamed.
            try db.execute(sql: "DELETE FROM episode_vectors WHERE column_name = ?", arguments: [column.name])
            try db.execute(
                sql: "UPDATE vector_columns SET dimension = ?, model_id = ?, model_sha256 = ?, created_at = ? WHERE name = ?",
                arguments: [staging[0] as Int, staging[1] as String, staging[2] as String, EpisodeTime.storedText(Date()), column.name])
            try db.execute(sql: "UPDATE episode_vectors SET column_name = ? WHERE column_name = ?", arguments: [column.name, stagingName])
            try db.execute(sql: "DELETE FROM vector_columns WHERE name = ?", arguments: [stagingName])
            try db.execute(sql: "UPDATE episodes SET \(flags.0) = 1, \(flags.1) = ?", arguments: [EpisodeTime.storedText(Date())])
            try db.execute(
                sql: """
                    UPDATE store_meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'columns_generation'
                    """)
            return true
        }
        return finished
    }

    public func cancelReembedding(of name: String) async throws {
        let column = try column(named: name)
        let stagingName = ReembeddingColumn.name(for: column.name)
        try write { db, _ in
            try db.execute(sql: "DELETE FROM episode_vectors WHERE column_name = ?", arguments: [stagingName])
            try db.execute(sql: "DELETE FROM vector_columns WHERE name = ?", arguments: [stagingName])
        }
        stagingColumns.withLock { $0[column.name] = nil }
    }
}
