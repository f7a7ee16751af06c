import EpisodeStore
import Foundation
import PostgresNIO
import VectorSearch

extension PostgresEpisodeStore {
    public func beginReembedding(of name: String, with replacement: VectorColumn) async throws -> VectorColumn {
        let column = try column(named: name)
        let staging = VectorColumn(
            name: ReembeddingColumn.name(for: column.name), role: column.role, dimension: replacement.dimension,
            modelID: replacement.modelID, modelSHA256: replacement.modelSHA256)
        guard staging.dimension > 0, staging.dimension <= 16_000 else {
            throw StoreError.reembedding(column: name, reason: "dimension \(staging.dimension) is invalid")
        }
        let storage = storage.withLock { $0[column.name] } ?? .vector
        let schema = self.schema
        let logger = self.logger
        try await write { connection in
            let rows = try await connection.query(
                PostgresQuery(
                    unsafeSQL: "SELECT dimension, model_id, model_sha256 FROM \(schema).vector_columns WHERE name = $1",
                    binds: try Self.bindings(staging.name)), logger: logger
            ).collect()
            if let row = rows.first {
                let (dimension, model, sha) = try row.decode((Int, String, String).self)
                if dimension == staging.dimension && model == staging.modelID && sha == staging.modelSHA256 { return }
                throw StoreError.reembedding(
                    column: name,
                    reason:
                        "another re-embedding (to \(model)) is in progress; finish it or cancel it with `episodic reembed --column \(name) --cancel`"
                )
            }
            try await Self.addVectorColumn(
                staging, storage: storage, replaces: column.name, connection: connection, schema: schema, logger: logger)
        }
        stagingColumns.withLock { $0[column.name] = staging }
        self.storage.withLock { $0[staging.name] = storage }
        return staging
    }

    public func finishReembedding(of name: String) async throws -> Bool {
        let column = try column(named: name)
        let stagingName = ReembeddingColumn.name(for: column.name)
        let old = try PostgresIdentifier.quoted(column.name)
        let new = try PostgresIdentifier.quoted(stagingName)
        let oldIndex = try PostgresIdentifier.quoted("episodes_\(column.name)_hnsw")
        let newIndex = try PostgresIdentifier.quoted("episodes_\(stagingName)_hnsw")
        let flags = column.role == .fast ? ("fastembed_cached", "fastembed_cached_at") : ("embedding_cached", "embedding_cached_at")
        let schema = self.schema
        let logger = self.logger
        return try await write { connection in
            let staged = try await connection.query(
                PostgresQuery(
                    unsafeSQL: "SELECT dimension, model_id, model_sha256 FROM \(schema).vector_columns WHERE name = $1",
                    binds: try Self.bindings(stagingName)), logger: logger
            ).collect()
            guard let row = staged.first else { throw StoreError.reembedding(column: name, reason: "no re-embedding in progress") }
            let (dimension, model, sha) = try row.decode((Int, String, String).self)
            let missing = try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(schema).episodes WHERE \(new) IS NULL"), logger: logger
            )
            .collect().first!.decode(Int.self)
            if missing > 0 { return false }
            // In this one transaction: the old column and index go, the staging ones take their names,
            // the registry the new model, and every writer still on the old model is refused.
            for statement in [
                "ALTER TABLE \(schema).episodes DROP COLUMN \(old)",
                "ALTER TABLE \(schema).episodes RENAME COLUMN \(new) TO \(old)",
                "ALTER INDEX \(schema).\(newIndex) RENAME TO \(oldIndex)",
                "UPDATE \(schema).episodes SET \(flags.0) = true, \(flags.1) = clock_timestamp()",
                "UPDATE \(schema).store_meta SET value = (value::bigint + 1)::text WHERE key = 'columns_generation'",
            ] {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            try await connection.query(
                PostgresQuery(unsafeSQL: "DELETE FROM \(schema).vector_columns WHERE name = $1", binds: try Self.bindings(stagingName)),
                logger: logger)
            var binds = PostgresBindings()
            try binds.append(dimension); try binds.append(model); try binds.append(sha); try binds.append(column.name)
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        UPDATE \(schema).vector_columns SET dimension = $1, model_id = $2, model_sha256 = $3, created_at = clock_timestamp() WHERE name = $4
                        """, binds: binds), logger: logger)
            return true
        }
    }

    public func cancelReembedding(of name: String) async throws {
        let column = try column(named: name)
        let stagingName = ReembeddingColumn.name(for: column.name)
        let staging = try PostgresIdentifier.quoted(stagingName)
        let schema = self.schema
        let logger = self.logger
        try await write { connection in
            try await connection.query(
                PostgresQuery(unsafeSQL: "ALTER TABLE \(schema).episodes DROP COLUMN IF EXISTS \(staging)"), logger: logger)
            try await connection.query(
                PostgresQuery(unsafeSQL: "DELETE FROM \(schema).vector_columns WHERE name = $1", binds: try Self.bindings(stagingName)),
                logger: logger)
        }
        stagingColumns.withLock { $0[column.name] = nil }
    }
}
