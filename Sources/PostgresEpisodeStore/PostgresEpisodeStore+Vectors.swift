import EpisodeStore
import Foundation
import PostgresNIO
import VectorSearch

extension PostgresEpisodeStore {
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
        guard !vectors.isEmpty else { return 0 }
        let isStaging = !columns.contains(column)
        let quoted = try PostgresIdentifier.quoted(column.name)
        let flags = column.role == .fast ? ("fastembed_cached", "fastembed_cached_at") : ("embedding_cached", "embedding_cached_at")
        let setFlags = isStaging ? "" : ", \(flags.0) = true, \(flags.1) = $5::timestamptz"
        var binds = PostgresBindings()
        try binds.append(vectors.map(\.agentID))
        try binds.append(vectors.map(\.episodeID))
        try binds.append(vectors.map { Self.literal($0.vector) })
        // A vector of older text than the episode now holds is skipped (changed meanwhile).
        try binds.append(vectors.map { $0.basedOn.map(EpisodeTime.rfc3339) ?? "" })
        if !isStaging { try binds.append(EpisodeTime.rfc3339(Date())) }
        let query = PostgresQuery(
            unsafeSQL: """
                UPDATE \(schema).episodes e SET \(quoted) = v.vector::\(castType(column.name))\(setFlags)
                FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS v(agent_id, id, vector, based_on)
                WHERE e.agent_id = v.agent_id AND e.id = v.id AND (v.based_on = '' OR e.updated_at = NULLIF(v.based_on, '')::timestamptz)
                RETURNING 1
                """, binds: binds)
        return try await write { connection in try await connection.query(query, logger: self.logger).collect().count }
    }

    public func vectors(column name: String, agentID: String, episodeIDs: [String]) async throws -> [String: [Float]] {
        let column = try column(named: name)
        guard !episodeIDs.isEmpty else { return [:] }
        let quoted = try PostgresIdentifier.quoted(column.name)
        var binds = PostgresBindings()
        try binds.append(agentID)
        try binds.append(episodeIDs)
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT id, \(quoted)::real[] FROM \(schema).episodes WHERE agent_id = $1 AND id = ANY($2::text[]) AND \(quoted) IS NOT NULL
                """, binds: binds)
        let rows = try await read { connection in try await connection.query(query, logger: self.logger).collect() }
        var found: [String: [Float]] = [:]
        for row in rows {
            if let (id, vector) = try Self.idAndVector(row) { found[id] = vector }
        }
        return found
    }

    /// pgvector computes the inner products: only ids and scores cross the wire.
    public func scores(of vector: [Float], column name: String, agentID: String, episodeIDs: [String]) async throws -> [String: Float] {
        let column = try column(named: name)
        do { try column.validate(vector) } catch { throw StoreError.vector(error) }
        guard !episodeIDs.isEmpty else { return [:] }
        let quoted = try PostgresIdentifier.quoted(column.name)
        let cast = castType(column.name)
        var binds = PostgresBindings()
        try binds.append(agentID)
        try binds.append(episodeIDs)
        try binds.append(Self.literal(vector))
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT id, \(quoted) <#> $3::\(cast) FROM \(schema).episodes
                WHERE agent_id = $1 AND id = ANY($2::text[]) AND \(quoted) IS NOT NULL
                """, binds: binds)
        let rows = try await read { connection in try await connection.query(query, logger: self.logger).collect() }
        return Dictionary(try rows.map(Self.idAndScore), uniquingKeysWith: { a, _ in a })
    }

    public func episodesMissingVector(column name: String, limit: Int) async throws -> [Episode] {
        let column = try writableColumn(named: name)
        let quoted = try PostgresIdentifier.quoted(column.name)
        var binds = PostgresBindings()
        try binds.append(limit)
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT \(Self.episodeColumns) FROM \(schema).episodes WHERE \(quoted) IS NULL ORDER BY created_at, agent_id, id LIMIT $1
                """, binds: binds)
        let rows = try await read { connection in try await connection.query(query, logger: self.logger).collect() }
        return decodeEpisodes(rows)
    }

    /// From the agent's episode count (`agent_stats`, cached for a few seconds): an upper bound of
    /// its vectors, where counting them would scan the column's rows on every retrieval (~100 ms
    /// for an agent of 100,000 episodes).
    public func isSmallForExactScan(column name: String, agentID: String, limit: Int) async throws -> Bool {
        _ = try writableColumn(named: name)
        return try await agentEpisodeCount(agentID, cached: true) <= limit
    }

    public func vectorCount(column name: String, agentID: String?) async throws -> Int {
        let column = try writableColumn(named: name)
        let quoted = try PostgresIdentifier.quoted(column.name)
        let query: PostgresQuery
        if let agentID {
            query = PostgresQuery(
                unsafeSQL: "SELECT count(\(quoted)) FROM \(schema).episodes WHERE agent_id = $1", binds: try Self.bindings(agentID))
        } else {
            query = PostgresQuery(unsafeSQL: "SELECT count(\(quoted)) FROM \(schema).episodes")
        }
        return try await read { connection in try await connection.query(query, logger: self.logger).collect().first?.decode(Int.self) ?? 0
        }
    }
}
