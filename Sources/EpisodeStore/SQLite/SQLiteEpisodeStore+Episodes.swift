import Foundation
import GRDB
import VectorSearch

extension SQLiteEpisodeStore {
    public func insert(_ batch: [NewEpisode]) async throws -> [Insertion] {
        // Everything is validated before the database is touched.
        let prepared = try prepare(batch)
        let (outcomes, extensions) = try write { db, effects in
            // The agents' lexical versions before the inserts, for the postings held in memory.
            let before = try lexicalVersions(agentIDs: Set(prepared.map(\.1.agentID)), db)
            var inserted: [String: [Episode]] = [:]
            let insertEpisode = try db.cachedStatement(
                sql: """
                    INSERT INTO episodes(\(SQLiteRows.episodeColumns), text_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            let insertVector = try db.cachedStatement(
                sql: """
                    INSERT INTO episode_vectors(agent_id, episode_id, column_name, vector) VALUES (?, ?, ?, ?)
                    """)
            var outcomes: [Insertion] = []
            outcomes.reserveCapacity(prepared.count)
            for (item, episode, vectors) in prepared {
                // Decided inside the write transaction: SQLite has one writer at a time, so two
                // identical writes cannot both find nothing and both add.
                if let existing = try existingEpisode(for: item, episode, db) {
                    outcomes.append(Insertion(episode: existing, created: false))
                    continue
                }
                do {
                    try insertEpisode.execute(arguments: Self.arguments(episode) + [TextFingerprint.fingerprint(episode.content)])
                } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                    throw StoreError.duplicateEpisode(episode.id)
                }
                for (column, vector) in vectors {
                    try insertVector.execute(arguments: [episode.agentID, episode.id, column.name, SQLiteRows.encode(vector)])
                    effects.append(IndexEffect(column: column.name, agentID: episode.agentID, episodeID: episode.id, vector: vector))
                }
                outcomes.append(Insertion(episode: episode, created: true))
                inserted[episode.agentID, default: []].append(episode)
            }
            return (outcomes, try lexicalExtensions(before: before, inserted: inserted, db))
        }
        // After the commit: a search that already saw the new version found the postings stale
        // and dropped them, and then nothing is extended.
        for e in extensions {
            if let additions = e.additions {
                lexicalMemory.append(additions, agentSeq: e.agentSeq, agentID: e.agentID, from: e.before, to: e.after)
            }
            lexicalMemory.carryStreak(agentSeq: e.agentSeq, from: e.before, to: e.after)
        }
        return outcomes
    }

    /// What a transaction's inserts did to one agent's lexical version, and what they add to the
    /// postings this process holds for it.
    struct LexicalExtension {
        var agentSeq: Int64
        var agentID: String
        /// The agent's `lexical_version` before the transaction and after it.
        var before: Int64
        var after: Int64
        /// The inserted episodes' postings; nil when this process holds none current for the agent.
        var additions: [AgentPostings.Addition]?
    }

    /// The numbers and lexical versions of those of `agentIDs` that exist (none when postings are
    /// never kept in memory).
    func lexicalVersions(agentIDs: Set<String>, _ db: Database) throws -> [String: (agentSeq: Int64, version: Int64)] {
        guard lexicalMemory.budget > 0 else { return [:] }
        var versions: [String: (agentSeq: Int64, version: Int64)] = [:]
        for agentID in agentIDs {
            let sql = "SELECT agent_seq, lexical_version FROM agents WHERE agent_id = ?"
            guard let row = try Row.fetchOne(db, sql: sql, arguments: [agentID]) else { continue }
            versions[agentID] = (row[0], row[1])
        }
        return versions
    }

    /// For each agent of `inserted` that existed `before`: its new version and, where this process
    /// holds its postings at the version before, the inserted episodes' postings as the index
    /// tokenized them in this transaction.
    func lexicalExtensions(
        before: [String: (agentSeq: Int64, version: Int64)], inserted: [String: [Episode]], _ db: Database
    ) throws -> [LexicalExtension] {
        var extensions: [LexicalExtension] = []
        agents: for (agentID, episodes) in inserted {
            guard let (agentSeq, version) = before[agentID],
                let after = try Int64.fetchOne(db, sql: "SELECT lexical_version FROM agents WHERE agent_seq = ?", arguments: [agentSeq])
            else { continue }
            var change = LexicalExtension(agentSeq: agentSeq, agentID: agentID, before: version, after: after)
            defer { extensions.append(change) }
            guard lexicalMemory.holds(agentSeq: agentSeq, version: version) else { continue }
            var additions: [AgentPostings.Addition] = []
            for episode in episodes {
                let text = episode.embeddedText
                // An episode missing from the additions would be missing from every ranking: then
                // the agent's postings are left to go stale instead.
                guard
                    let row = try Row.fetchOne(
                        db, sql: "SELECT episodic_lexical_document_terms(?), episodic_lexical_length(?)", arguments: [text, text]),
                    let joined = row[0] as String?, let length = row[1] as Int64?
                else { continue agents }
                var terms: [String: Int32] = [:]
                for term in joined.split(separator: "\u{1F}") { terms[String(term), default: 0] += 1 }
                additions.append(.init(episodeID: episode.id, length: Int32(clamping: length), terms: terms))
            }
            change.additions = additions
        }
        return extensions
    }

    /// The batch validated, with dates truncated, cache flags set from the vectors it brings, and
    /// its vectors checked against their columns.
    func prepare(_ batch: [NewEpisode]) throws -> [(NewEpisode, Episode, [(VectorColumn, [Float])])] {
        var prepared: [(NewEpisode, Episode, [(VectorColumn, [Float])])] = []
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
            prepared.append((item, stored, vectors))
        }
        return prepared
    }

    /// The stored episode an idempotent or deduplicating write returns instead of adding one; nil
    /// to add. Throws when the id is taken by other content.
    private func existingEpisode(for item: NewEpisode, _ episode: Episode, _ db: Database) throws -> Episode? {
        if item.idempotent,
            let row = try Row.fetchOne(
                db, sql: "SELECT \(SQLiteRows.episodeColumns) FROM episodes WHERE agent_id = ? AND id = ?",
                arguments: [episode.agentID, episode.id])
        {
            let existing = try SQLiteRows.episode(row)
            guard existing.hasSameContent(as: episode) else { throw StoreError.conflictingEpisode(episode.id) }
            return existing
        }
        if item.deduplicate {
            let normalized = TextFingerprint.normalized(episode.content)
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(SQLiteRows.episodeColumns) FROM episodes WHERE agent_id = ? AND text_hash = ?
                    ORDER BY created_at, id
                    """, arguments: [episode.agentID, TextFingerprint.fingerprint(episode.content)])
            for row in rows {
                let candidate = try SQLiteRows.episode(row)
                if TextFingerprint.normalized(candidate.content) == normalized { return candidate }
            }
        }
        return nil
    }

    static func arguments(_ e: Episode) -> StatementArguments {
        [
            e.agentID, e.id, e.content, e.summary, JSONValue.jsonText(of: e.metadata), EpisodeTime.storedText(e.createdAt),
            e.embeddingCached, e.embeddingCachedAt.map(EpisodeTime.storedText), e.fastembedCached,
            e.fastembedCachedAt.map(EpisodeTime.storedText), EpisodeTime.storedText(e.updatedAt),
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

    public func episodes(agentID: String, limit: Int, after position: PagePosition?, order: EpisodeOrder, filter: EpisodeFilter?)
        async throws -> [Episode]
    {
        if let filter { try filter.validate() }
        let column = order == .createdAt ? "created_at" : "updated_at"
        var sql =
            "SELECT \(SQLiteRows.episodeColumns) FROM episodes e INDEXED BY episodes_by_agent_\(order == .createdAt ? "created" : "updated") WHERE e.agent_id = ?"
        var arguments: StatementArguments = [agentID]
        if let position {
            let date = EpisodeTime.storedText(position.date)
            sql += " AND (e.\(column) < ? OR (e.\(column) = ? AND e.id < ?))"
            arguments += [date, date, position.id]
        }
        if let filter, !filter.isEmpty {
            let condition = SQLiteFilter.condition(filter)
            sql += " AND " + condition.sql
            arguments += condition.arguments
        }
        sql += " ORDER BY e.\(column) DESC, e.id DESC LIMIT ?"
        arguments += [limit]
        let rows = try read { db in try Row.fetchAll(db, sql: sql, arguments: arguments) }
        return SQLiteRows.episodes(rows, log: logUnreadable)
    }

    public func update(_ changed: Episode, expectedUpdatedAt: Date, vectors: [String: [Float]], staleColumns: [String]) async throws
        -> Episode?
    {
        try validate(changed)
        var replacing: [(VectorColumn, [Float])] = []
        for (name, vector) in vectors.sorted(by: { $0.key < $1.key }) {
            let column = try column(named: name)
            do { try column.validate(vector) } catch { throw StoreError.vector(error) }
            replacing.append((column, vector))
        }
        let stale = try staleColumns.map { try column(named: $0) }
        return try write { db, effects -> Episode? in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT \(SQLiteRows.episodeColumns) FROM episodes WHERE agent_id = ? AND id = ?",
                    arguments: [changed.agentID, changed.id])
            else { return nil }
            var stored = try SQLiteRows.episode(row)
            guard EpisodeTime.milliseconds(of: stored.updatedAt) == EpisodeTime.milliseconds(of: expectedUpdatedAt) else {
                throw StoreError.concurrentUpdate(changed.id)
            }
            // Strictly later than before, even within one millisecond: updated_at versions the text.
            let now = EpisodeTime.truncated(max(Date(), stored.updatedAt.addingTimeInterval(0.001)))
            stored.content = changed.content
            stored.summary = changed.summary
            stored.metadata = changed.metadata
            stored.updatedAt = now
            if !stale.isEmpty || !replacing.isEmpty {
                // New text: a re-embedding in progress must compute this episode's vector again.
                try db.execute(
                    sql: """
                        DELETE FROM episode_vectors WHERE agent_id = ? AND episode_id = ?
                        AND column_name IN (SELECT name FROM vector_columns WHERE replaces IS NOT NULL)
                        """, arguments: [stored.agentID, stored.id])
            }
            for column in stale {
                try db.execute(
                    sql: "DELETE FROM episode_vectors WHERE agent_id = ? AND episode_id = ? AND column_name = ?",
                    arguments: [stored.agentID, stored.id, column.name])
                effects.append(IndexEffect(column: column.name, agentID: stored.agentID, episodeID: stored.id, vector: nil))
                stored.setVectorCached(column.role, at: nil)
            }
            for (column, vector) in replacing {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO episode_vectors(agent_id, episode_id, column_name, vector) VALUES (?, ?, ?, ?)",
                    arguments: [stored.agentID, stored.id, column.name, SQLiteRows.encode(vector)])
                effects.append(IndexEffect(column: column.name, agentID: stored.agentID, episodeID: stored.id, vector: vector))
                stored.setVectorCached(column.role, at: now)
            }
            try db.execute(
                sql: """
                    UPDATE episodes SET content = ?, summary = ?, metadata = ?, updated_at = ?, text_hash = ?,
                        embedding_cached = ?, embedding_cached_at = ?, fastembed_cached = ?, fastembed_cached_at = ?
                    WHERE agent_id = ? AND id = ?
                    """,
                arguments: [
                    stored.content, stored.summary, JSONValue.jsonText(of: stored.metadata), EpisodeTime.storedText(now),
                    TextFingerprint.fingerprint(stored.content), stored.embeddingCached,
                    stored.embeddingCachedAt.map(EpisodeTime.storedText), stored.fastembedCached,
                    stored.fastembedCachedAt.map(EpisodeTime.storedText), stored.agentID, stored.id,
                ])
            return stored
        }
    }

    public func delete(agentID: String, id: String) async throws -> Bool {
        try write { db, effects in
            try db.execute(sql: "DELETE FROM episodes WHERE agent_id = ? AND id = ?", arguments: [agentID, id])
            guard db.changesCount > 0 else { return false }
            for column in columns { effects.append(IndexEffect(column: column.name, agentID: agentID, episodeID: id, vector: nil)) }
            try db.execute(
                sql: "DELETE FROM agents WHERE agent_id = ? AND NOT EXISTS (SELECT 1 FROM episodes WHERE agent_id = ?)",
                arguments: [agentID, agentID])
            return true
        }
    }

    public func deleteEpisodes(agentID: String, filter: EpisodeFilter?) async throws -> [String] {
        if let filter { try filter.validate() }
        var sql = "SELECT e.id FROM episodes e WHERE e.agent_id = ?"
        var arguments: StatementArguments = [agentID]
        if let filter, !filter.isEmpty {
            let condition = SQLiteFilter.condition(filter)
            sql += " AND " + condition.sql
            arguments += condition.arguments
        }
        return try write { db, effects in
            let ids = try String.fetchAll(db, sql: sql, arguments: arguments)
            let delete = try db.cachedStatement(sql: "DELETE FROM episodes WHERE agent_id = ? AND id = ?")
            for id in ids {
                try delete.execute(arguments: [agentID, id])
                for column in columns { effects.append(IndexEffect(column: column.name, agentID: agentID, episodeID: id, vector: nil)) }
            }
            // An agent without episodes leaves nothing behind, not even its name.
            try db.execute(
                sql: "DELETE FROM agents WHERE agent_id = ? AND NOT EXISTS (SELECT 1 FROM episodes WHERE agent_id = ?)",
                arguments: [agentID, agentID])
            return ids
        }
    }

    public func compact() async throws {
        _ = try write { db, _ in
            // Followers further behind than this reload their indexes instead of reading the log,
            // which names deleted episodes.
            let last = try SQLiteIndexFollower.lastChange(db)
            try db.execute(sql: "DELETE FROM vector_changes")
            try db.execute(sql: "INSERT OR REPLACE INTO store_meta(key, value) VALUES ('pruned_through', ?)", arguments: [String(last)])
            // Merge the text index's segments: a deleted row's terms leave them only then.
            try db.execute(sql: "INSERT INTO episodes_fts(episodes_fts) VALUES ('optimize')")
        }
        guard let writer else { throw StoreError.readOnly(location: path) }
        do {
            try await writer.vacuum()
            try await writer.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        } catch let error as DatabaseError {
            throw Self.translate(error, path: path)
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
