import EpisodeStore
import Foundation
import PostgresNIO
import VectorSearch

extension PostgresEpisodeStore {
    /// The columns every episode query selects, in the order of ``decodeEpisode(_:)``.
    static let episodeColumns = """
        agent_id, id, content, summary, metadata::text, created_at, embedding_cached, embedding_cached_at, \
        fastembed_cached, fastembed_cached_at
        """

    /// An episode from a row of ``episodeColumns``; a value no episodic could have written is
    /// ``StoreError/corruptEpisode(id:reason:)``, never a trap.
    func decodeEpisode(_ row: PostgresRow) throws -> Episode {
        let (agent, id, content, summary, metadataText, created, embedded, embeddedAt, fast, fastAt) =
            try row.decode((String, String, String, String?, String, Date, Bool, Date?, Bool, Date?).self)
        guard let metadata = (try? JSONParser(maxDepth: 256).parse(metadataText))?.objectValue else {
            throw StoreError.corruptEpisode(id: id, reason: "metadata is not a JSON object")
        }
        guard EpisodeTime.isInRange(created) else {
            throw StoreError.corruptEpisode(id: id, reason: "created_at is outside \(EpisodeTime.rangeDescription)")
        }
        var episode = Episode(
            id: id, agentID: agent, content: content, summary: summary, metadata: metadata,
            createdAt: EpisodeTime.truncated(created))
        episode.embeddingCached = embedded
        episode.embeddingCachedAt = embeddedAt.map(EpisodeTime.truncated)
        episode.fastembedCached = fast
        episode.fastembedCachedAt = fastAt.map(EpisodeTime.truncated)
        return episode
    }

    /// Decodes rows, leaving out (and logging) those that cannot be read.
    func decodeEpisodes(_ rows: [PostgresRow]) -> [Episode] {
        rows.compactMap { row in
            do { return try decodeEpisode(row) } catch {
                logger.error("skipped an unreadable row: \(error)")
                return nil
            }
        }
    }

    /// pgvector's text form of a vector: `[0.25,-1.0,…]` (Swift's shortest round-tripping floats).
    static func literal(_ vector: [Float]) -> String {
        var text = "["
        text.reserveCapacity(vector.count * 12)
        for (i, x) in vector.enumerated() {
            if i > 0 { text += "," }
            text += "\(x)"
        }
        return text + "]"
    }

    /// `vector` or `halfvec`, for casts of `column`'s values.
    func castType(_ column: String) -> String { (storage.withLock { $0[column] } ?? .vector).rawValue }

    public func add(_ batch: [NewEpisode]) async throws -> [Episode] {
        var prepared: [(Episode, [String: [Float]])] = []
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
            for (name, vector) in item.vectors {
                let column = try column(named: name)
                do { try column.validate(vector) } catch { throw StoreError.vector(error) }
                switch column.role {
                case .fast: stored.fastembedCached = true; stored.fastembedCachedAt = now
                case .quality: stored.embeddingCached = true; stored.embeddingCachedAt = now
                }
            }
            prepared.append((stored, item.vectors))
        }
        guard !prepared.isEmpty else { return [] }
        // One statement for the whole batch: arrays of texts, unnested into rows and cast.
        let vectorColumns = columns
        var arrays: [[String]] = Array(repeating: [], count: 9 + vectorColumns.count)
        for (e, vectors) in prepared {
            arrays[0].append(e.agentID); arrays[1].append(e.id); arrays[2].append(e.content)
            arrays[3].append(e.summary ?? ""); arrays[4].append(e.summary == nil ? "f" : "t")
            arrays[5].append(JSONValue.jsonText(of: e.metadata)); arrays[6].append(EpisodeTime.rfc3339(e.createdAt))
            arrays[7].append(e.fastembedCached ? "t" : "f"); arrays[8].append(e.embeddingCached ? "t" : "f")
            for (i, column) in vectorColumns.enumerated() { arrays[9 + i].append(vectors[column.name].map(Self.literal) ?? "") }
        }
        var names = [
            "agent_id", "id", "content", "summary", "metadata", "created_at", "updated_at", "fastembed_cached",
            "fastembed_cached_at", "embedding_cached", "embedding_cached_at",
        ]
        var values = [
            "a", "i", "c", "CASE WHEN hs THEN s END", "m::json", "t::timestamptz", "t::timestamptz", "fc::boolean",
            "CASE WHEN fc::boolean THEN $\(arrays.count + 1)::timestamptz END", "qc::boolean",
            "CASE WHEN qc::boolean THEN $\(arrays.count + 1)::timestamptz END",
        ]
        var aliases = ["a", "i", "c", "s", "hs", "m", "t", "fc", "qc"]
        for (i, column) in vectorColumns.enumerated() {
            names.append(try PostgresIdentifier.quoted(column.name))
            values.append("NULLIF(v\(i), '')::\(castType(column.name))")
            aliases.append("v\(i)")
        }
        let unnest = (1...arrays.count).map { "$\($0)::text[]" }.joined(separator: ", ")
        let sql = """
            INSERT INTO \(schema).episodes (\(names.joined(separator: ", ")))
            SELECT \(values.joined(separator: ", ")) FROM unnest(\(unnest)) AS x(\(aliases.joined(separator: ", ")))
            ON CONFLICT (agent_id, id) DO NOTHING RETURNING agent_id, id
            """.replacingOccurrences(of: "CASE WHEN hs THEN s END", with: "CASE WHEN hs::boolean THEN s END")
        var binds = PostgresBindings(capacity: arrays.count + 1)
        for array in arrays { try binds.append(array) }
        try binds.append(EpisodeTime.rfc3339(now))
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        let expected = prepared.map { [$0.0.agentID, $0.0.id] }
        try await write { connection in
            let inserted = try await connection.query(query, logger: self.logger).collect().map { try $0.decode((String, String).self) }
            if inserted.count != expected.count {
                let got = Set(inserted.map { [$0.0, $0.1] })
                let duplicate = expected.first { !got.contains($0) }?[1] ?? ""
                throw StoreError.duplicateEpisode(duplicate)
            }
        }
        return prepared.map(\.0)
    }

    public func episode(agentID: String, id: String) async throws -> Episode? {
        let query = PostgresQuery(
            unsafeSQL: "SELECT \(Self.episodeColumns) FROM \(schema).episodes WHERE agent_id = $1 AND id = $2",
            binds: try Self.bindings(agentID, id))
        let rows = try await read { connection in try await connection.query(query, logger: self.logger).collect() }
        return try rows.first.map(decodeEpisode)
    }

    public func episodes(agentID: String, ids: [String]) async throws -> [Episode] {
        guard !ids.isEmpty else { return [] }
        var binds = PostgresBindings()
        try binds.append(agentID)
        try binds.append(ids)
        let query = PostgresQuery(
            unsafeSQL: "SELECT \(Self.episodeColumns) FROM \(schema).episodes WHERE agent_id = $1 AND id = ANY($2::text[])",
            binds: binds)
        let rows = try await read { connection in try await connection.query(query, logger: self.logger).collect() }
        let byID = Dictionary(decodeEpisodes(rows).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        return ids.compactMap { byID[$0] }
    }

    public func episodes(agentID: String, limit: Int, after position: PagePosition?) async throws -> [Episode] {
        var binds = PostgresBindings()
        try binds.append(agentID)
        try binds.append(limit)
        var condition = ""
        if let position {
            try binds.append(EpisodeTime.rfc3339(position.createdAt))
            try binds.append(position.id)
            condition = "AND (created_at, id) < ($3::timestamptz, $4)"
        }
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT \(Self.episodeColumns) FROM \(schema).episodes WHERE agent_id = $1 \(condition)
                ORDER BY created_at DESC, id DESC LIMIT $2
                """, binds: binds)
        let rows = try await read { connection in try await connection.query(query, logger: self.logger).collect() }
        return decodeEpisodes(rows)
    }

    public func delete(agentID: String, id: String) async throws -> Bool {
        let query = PostgresQuery(
            unsafeSQL: "DELETE FROM \(schema).episodes WHERE agent_id = $1 AND id = $2 RETURNING 1",
            binds: try Self.bindings(agentID, id))
        return try await write { connection in try await !connection.query(query, logger: self.logger).collect().isEmpty }
    }

    public func agentEpisodeCounts() async throws -> [String: Int] {
        let query = PostgresQuery(unsafeSQL: "SELECT agent_id, count(*) FROM \(schema).episodes GROUP BY agent_id")
        let rows = try await read { connection in try await connection.query(query, logger: self.logger).collect() }
        var counts: [String: Int] = [:]
        for row in rows {
            let (agent, count) = try row.decode((String, Int).self)
            counts[agent] = count
        }
        return counts
    }

    public func agentExists(_ agentID: String) async throws -> Bool {
        let query = PostgresQuery(
            unsafeSQL: "SELECT EXISTS (SELECT 1 FROM \(schema).episodes WHERE agent_id = $1)", binds: try Self.bindings(agentID))
        return try await read { connection in
            try await connection.query(query, logger: self.logger).collect().first?.decode(Bool.self) ?? false
        }
    }
}
