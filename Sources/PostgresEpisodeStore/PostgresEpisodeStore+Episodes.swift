import EpisodeStore
import Foundation
import PostgresNIO
import VectorSearch

extension PostgresEpisodeStore {
    /// The columns every episode query selects, in the order of ``decodeEpisode(_:)``.
    static let episodeColumns = """
        agent_id, id, content, summary, metadata::text, created_at, embedding_cached, embedding_cached_at, \
        fastembed_cached, fastembed_cached_at, updated_at
        """

    /// An episode from a row of ``episodeColumns``; a value no episodic could have written is
    /// ``StoreError/corruptEpisode(id:reason:)``, never a trap.
    func decodeEpisode(_ row: PostgresRow) throws -> Episode {
        let (agent, id, content, summary, metadataText, created, embedded, embeddedAt, fast, fastAt, updated) =
            try row.decode((String, String, String, String?, String, Date, Bool, Date?, Bool, Date?, Date).self)
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
        episode.updatedAt = EpisodeTime.truncated(updated)
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

    public func insert(_ batch: [NewEpisode]) async throws -> [Insertion] {
        var prepared: [(NewEpisode, Episode)] = []
        prepared.reserveCapacity(batch.count)
        let now = EpisodeTime.truncated(Date())
        var seen = Set<[String]>()
        for item in batch {
            try validate(item.episode)
            guard seen.insert([item.episode.agentID, item.episode.id]).inserted else { throw StoreError.duplicateEpisode(item.episode.id) }
            var stored = item.episode
            stored.createdAt = EpisodeTime.truncated(stored.createdAt)
            // Given (an import keeps it), never before the creation.
            stored.updatedAt = EpisodeTime.truncated(max(stored.updatedAt, stored.createdAt))
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
            prepared.append((item, stored))
        }
        guard !prepared.isEmpty else { return [] }
        let plain = !prepared.contains { $0.0.idempotent || $0.0.deduplicate }
        let rows = prepared
        return try await write { connection in
            if plain {
                let expected = rows.map { [$0.1.agentID, $0.1.id] }
                let inserted = try await self.insertRows(rows, now: now, connection)
                if inserted.count != expected.count {
                    throw StoreError.duplicateEpisode(expected.first { !inserted.contains($0) }?[1] ?? "")
                }
                return rows.map { Insertion(episode: $0.1, created: true) }
            }
            // Deduplicating writes of the same text wait for each other (advisory locks, taken in
            // one order so that two batches cannot deadlock), so that the second finds the first.
            let locks = Set(rows.filter(\.0.deduplicate).map { Self.dedupLock(agentID: $0.1.agentID, content: $0.1.content) }).sorted()
            for key in locks {
                var binds = PostgresBindings()
                try binds.append(key)
                try await connection.query(
                    PostgresQuery(unsafeSQL: "SELECT pg_advisory_xact_lock($1::bigint)", binds: binds), logger: self.logger)
            }
            var outcomes: [Insertion] = []
            for row in rows {
                if let existing = try await self.existingEpisode(for: row.0, row.1, connection) {
                    outcomes.append(Insertion(episode: existing, created: false))
                    continue
                }
                if try await self.insertRows([row], now: now, connection).isEmpty {
                    // Taken meanwhile by a concurrent write (which has committed: ours waited on it).
                    guard row.0.idempotent, let existing = try await self.existingEpisode(for: row.0, row.1, connection) else {
                        throw StoreError.duplicateEpisode(row.1.id)
                    }
                    outcomes.append(Insertion(episode: existing, created: false))
                    continue
                }
                outcomes.append(Insertion(episode: row.1, created: true))
            }
            return outcomes
        }
    }

    /// The advisory lock key of deduplicating writes of `content` for `agentID`.
    static func dedupLock(agentID: String, content: String) -> Int64 {
        TextFingerprint.fingerprint(content) ^ TextFingerprint.fingerprint("agent:" + agentID)
    }

    /// The stored episode an idempotent or deduplicating write returns instead of adding one; nil
    /// to add. Throws when the id is taken by other content.
    private func existingEpisode(for item: NewEpisode, _ episode: Episode, _ connection: PostgresConnection) async throws -> Episode? {
        if item.idempotent {
            let rows = try await connection.query(
                PostgresQuery(
                    unsafeSQL: "SELECT \(Self.episodeColumns) FROM \(schema).episodes WHERE agent_id = $1 AND id = $2",
                    binds: try Self.bindings(episode.agentID, episode.id)), logger: logger
            ).collect()
            if let row = rows.first {
                let existing = try decodeEpisode(row)
                guard existing.hasSameContent(as: episode) else { throw StoreError.conflictingEpisode(episode.id) }
                return existing
            }
        }
        if item.deduplicate {
            var binds = PostgresBindings()
            try binds.append(episode.agentID)
            try binds.append(TextFingerprint.fingerprint(episode.content))
            let rows = try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT \(Self.episodeColumns) FROM \(schema).episodes WHERE agent_id = $1 AND text_hash = $2 ORDER BY created_at, id
                        """, binds: binds), logger: logger
            ).collect()
            let normalized = TextFingerprint.normalized(episode.content)
            for row in rows {
                let candidate = try decodeEpisode(row)
                if TextFingerprint.normalized(candidate.content) == normalized { return candidate }
            }
        }
        return nil
    }

    /// Inserts rows in one statement (arrays of texts, unnested and cast), skipping ids that exist;
    /// returns the [agent, id] of those inserted.
    private func insertRows(_ rows: [(NewEpisode, Episode)], now: Date, _ connection: PostgresConnection) async throws -> Set<[String]> {
        let vectorColumns = columns
        var arrays: [[String]] = Array(repeating: [], count: 11 + vectorColumns.count)
        for (item, e) in rows {
            arrays[0].append(e.agentID); arrays[1].append(e.id); arrays[2].append(e.content)
            arrays[3].append(e.summary ?? ""); arrays[4].append(e.summary == nil ? "f" : "t")
            arrays[5].append(JSONValue.jsonText(of: e.metadata)); arrays[6].append(EpisodeTime.rfc3339(e.createdAt))
            arrays[7].append(e.fastembedCached ? "t" : "f"); arrays[8].append(e.embeddingCached ? "t" : "f")
            arrays[9].append(String(TextFingerprint.fingerprint(e.content))); arrays[10].append(EpisodeTime.rfc3339(e.updatedAt))
            for (i, column) in vectorColumns.enumerated() { arrays[11 + i].append(item.vectors[column.name].map(Self.literal) ?? "") }
        }
        var names = [
            "agent_id", "id", "content", "summary", "metadata", "created_at", "updated_at", "fastembed_cached",
            "fastembed_cached_at", "embedding_cached", "embedding_cached_at", "text_hash",
        ]
        var values = [
            "a", "i", "c", "CASE WHEN hs::boolean THEN s END", "m::json", "t::timestamptz", "u::timestamptz", "fc::boolean",
            "CASE WHEN fc::boolean THEN $\(arrays.count + 1)::timestamptz END", "qc::boolean",
            "CASE WHEN qc::boolean THEN $\(arrays.count + 1)::timestamptz END", "h::bigint",
        ]
        var aliases = ["a", "i", "c", "s", "hs", "m", "t", "fc", "qc", "h", "u"]
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
            """
        var binds = PostgresBindings(capacity: arrays.count + 1)
        for array in arrays { try binds.append(array) }
        try binds.append(EpisodeTime.rfc3339(now))
        let inserted = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).collect()
        return Set(
            try inserted.map {
                let (a, i) = try $0.decode((String, String).self); return [a, i]
            })
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

    public func episodes(agentID: String, limit: Int, after position: PagePosition?, order: EpisodeOrder, filter: EpisodeFilter?)
        async throws -> [Episode]
    {
        if let filter { try filter.validate() }
        let column = order == .createdAt ? "created_at" : "updated_at"
        var binds = PostgresBindings()
        try binds.append(agentID)
        try binds.append(limit)
        var condition = ""
        if let position {
            try binds.append(EpisodeTime.rfc3339(position.date))
            try binds.append(position.id)
            condition = "AND (\(column), id) < ($3::timestamptz, $4)"
        }
        if let filter, !filter.isEmpty { condition += " AND " + (try PostgresFilter.condition(filter, binds: &binds)) }
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT \(Self.episodeColumns) FROM \(schema).episodes WHERE agent_id = $1 \(condition)
                ORDER BY \(column) DESC, id DESC LIMIT $2
                """, binds: binds)
        let rows = try await read { connection in try await connection.query(query, logger: self.logger).collect() }
        return decodeEpisodes(rows)
    }

    public func update(_ changed: Episode, expectedUpdatedAt: Date, vectors: [String: [Float]], staleColumns: [String]) async throws
        -> Episode?
    {
        try validate(changed)
        for (name, vector) in vectors {
            do { try column(named: name).validate(vector) } catch let error as VectorError { throw StoreError.vector(error) }
        }
        let stale = try staleColumns.map { try column(named: $0) }
        let replacing = try vectors.keys.sorted().map { try column(named: $0) }
        let staging = stagingColumns.withLock { Array($0.values) }
        return try await write { connection -> Episode? in
            let rows = try await connection.query(
                PostgresQuery(
                    unsafeSQL: "SELECT \(Self.episodeColumns) FROM \(self.schema).episodes WHERE agent_id = $1 AND id = $2 FOR UPDATE",
                    binds: try Self.bindings(changed.agentID, changed.id)), logger: self.logger
            ).collect()
            guard let row = rows.first else { return nil }
            var stored = try self.decodeEpisode(row)
            guard EpisodeTime.milliseconds(of: stored.updatedAt) == EpisodeTime.milliseconds(of: expectedUpdatedAt) else {
                throw StoreError.concurrentUpdate(changed.id)
            }
            let now = EpisodeTime.truncated(max(Date(), stored.updatedAt.addingTimeInterval(0.001)))
            stored.content = changed.content
            stored.summary = changed.summary
            stored.metadata = changed.metadata
            stored.updatedAt = now
            var binds = PostgresBindings()
            try binds.append(stored.agentID)
            try binds.append(stored.id)
            try binds.append(stored.content)
            try binds.append(stored.summary)
            try binds.append(JSONValue.jsonText(of: stored.metadata))
            try binds.append(EpisodeTime.rfc3339(now))
            try binds.append(TextFingerprint.fingerprint(stored.content))
            var sets = [
                "content = $3", "summary = $4", "metadata = $5::json", "updated_at = $6::timestamptz", "text_hash = $7",
            ]
            for column in stale {
                sets.append("\(try PostgresIdentifier.quoted(column.name)) = NULL")
                let flags = column.role == .fast ? ("fastembed_cached", "fastembed_cached_at") : ("embedding_cached", "embedding_cached_at")
                sets.append("\(flags.0) = false, \(flags.1) = NULL")
                stored.setVectorCached(column.role, at: nil)
            }
            for column in replacing {
                try binds.append(Self.literal(vectors[column.name]!))
                sets.append("\(try PostgresIdentifier.quoted(column.name)) = $\(binds.count)::\(self.castType(column.name))")
                let flags = column.role == .fast ? ("fastembed_cached", "fastembed_cached_at") : ("embedding_cached", "embedding_cached_at")
                sets.append("\(flags.0) = true, \(flags.1) = $6::timestamptz")
                stored.setVectorCached(column.role, at: now)
            }
            if !stale.isEmpty || !replacing.isEmpty {
                // New text: a re-embedding in progress must compute this episode's vector again.
                for column in staging { sets.append("\(try PostgresIdentifier.quoted(column.name)) = NULL") }
            }
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: "UPDATE \(self.schema).episodes SET \(sets.joined(separator: ", ")) WHERE agent_id = $1 AND id = $2",
                    binds: binds), logger: self.logger)
            return stored
        }
    }

    public func delete(agentID: String, id: String) async throws -> Bool {
        let query = PostgresQuery(
            unsafeSQL: "DELETE FROM \(schema).episodes WHERE agent_id = $1 AND id = $2 RETURNING 1",
            binds: try Self.bindings(agentID, id))
        let forget = try forgetEmptyAgent(agentID)
        return try await write { connection in
            guard try await !connection.query(query, logger: self.logger).collect().isEmpty else { return false }
            try await connection.query(forget, logger: self.logger)
            return true
        }
    }

    public func deleteEpisodes(agentID: String, filter: EpisodeFilter?) async throws -> [String] {
        if let filter { try filter.validate() }
        var binds = PostgresBindings()
        try binds.append(agentID)
        var condition = ""
        if let filter, !filter.isEmpty { condition = " AND " + (try PostgresFilter.condition(filter, binds: &binds)) }
        let query = PostgresQuery(
            unsafeSQL: "DELETE FROM \(schema).episodes WHERE agent_id = $1\(condition) RETURNING id", binds: binds)
        let forget = try forgetEmptyAgent(agentID)
        return try await write { connection in
            let ids = try await connection.query(query, logger: self.logger).collect().map { try $0.decode(String.self) }
            try await connection.query(forget, logger: self.logger)
            return ids
        }
    }

    /// Removes the counts row of an agent left without episodes: nothing of it remains.
    private func forgetEmptyAgent(_ agentID: String) throws -> PostgresQuery {
        PostgresQuery(
            unsafeSQL: """
                DELETE FROM \(schema).agent_stats WHERE agent_id = $1 AND NOT EXISTS (SELECT 1 FROM \(schema).episodes WHERE agent_id = $1)
                """, binds: try Self.bindings(agentID))
    }

    public func compact() async throws {
        guard !configuration.readOnly else { throw StoreError.readOnly(location: location) }
        // VACUUM cannot run in a transaction block: each on its own connection call.
        for table in ["episodes", "agent_stats"] {
            try await read { connection in
                try await connection.query(PostgresQuery(unsafeSQL: "VACUUM \(self.schema).\(table)"), logger: self.logger)
            }
        }
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
