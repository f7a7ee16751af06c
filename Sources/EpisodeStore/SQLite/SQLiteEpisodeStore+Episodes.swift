import Foundation
import GRDB
import VectorSearch

extension SQLiteEpisodeStore {
    public func insert(_ batch: [NewEpisode]) async throws -> [Insertion] {
        // Everything is validated before the database is touched.
        let prepared = try prepare(batch)
        let (outcomes, changes) = try write { db, effects in
            var lexical = try LexicalEditRecorder(memory: lexicalMemory, agentIDs: prepared.map(\.1.agentID), db)
            var written: Set<String> = []
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
                written.insert(episode.agentID)
                try lexical.adding(db.lastInsertedRowID, episodeID: episode.id, text: episode.embeddedText, of: episode.agentID, db)
            }
            return (outcomes, try lexical.finish(changing: written, db))
        }
        applyLexicalChanges(changes)
        return outcomes
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
        let (updated, changes) = try write { db, effects -> (Episode?, [LexicalChange]) in
            var lexical = try LexicalEditRecorder(memory: lexicalMemory, agentIDs: [changed.agentID], db)
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT \(SQLiteRows.episodeColumns) FROM episodes WHERE agent_id = ? AND id = ?",
                    arguments: [changed.agentID, changed.id])
            else { return (nil, []) }
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
            // The row's text is written again (its index entry with it, whether or not it changed).
            let seq = lexical.follows(stored.agentID) ? try Self.seq(agentID: stored.agentID, id: stored.id, db) : nil
            if let seq { lexical.removing(seq, of: stored.agentID) }
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
            if let seq { try lexical.adding(seq, episodeID: stored.id, text: stored.embeddedText, of: stored.agentID, db) }
            return (stored, try lexical.finish(changing: [stored.agentID], db))
        }
        applyLexicalChanges(changes)
        return updated
    }

    /// The row number of a stored episode.
    static func seq(agentID: String, id: String, _ db: Database) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT seq FROM episodes WHERE agent_id = ? AND id = ?", arguments: [agentID, id])
    }

    public func delete(agentID: String, id: String) async throws -> Bool {
        let (deleted, changes) = try write { db, effects -> (Bool, [LexicalChange]) in
            var lexical = try LexicalEditRecorder(memory: lexicalMemory, agentIDs: [agentID], db)
            if lexical.follows(agentID), let seq = try Self.seq(agentID: agentID, id: id, db) { lexical.removing(seq, of: agentID) }
            try db.execute(sql: "DELETE FROM episodes WHERE agent_id = ? AND id = ?", arguments: [agentID, id])
            guard db.changesCount > 0 else { return (false, []) }
            for column in columns { effects.append(IndexEffect(column: column.name, agentID: agentID, episodeID: id, vector: nil)) }
            try db.execute(
                sql: "DELETE FROM agents WHERE agent_id = ? AND NOT EXISTS (SELECT 1 FROM episodes WHERE agent_id = ?)",
                arguments: [agentID, agentID])
            return (true, try lexical.finish(changing: [agentID], db))
        }
        applyLexicalChanges(changes)
        return deleted
    }

    public func deleteEpisodes(agentID: String, filter: EpisodeFilter?) async throws -> [String] {
        if let filter { try filter.validate() }
        var sql = "SELECT e.id, e.seq FROM episodes e WHERE e.agent_id = ?"
        var arguments: StatementArguments = [agentID]
        if let filter, !filter.isEmpty {
            let condition = SQLiteFilter.condition(filter)
            sql += " AND " + condition.sql
            arguments += condition.arguments
        }
        let (deleted, changes) = try write { db, effects -> ([String], [LexicalChange]) in
            var lexical = try LexicalEditRecorder(memory: lexicalMemory, agentIDs: [agentID], db)
            let rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
            let delete = try db.cachedStatement(sql: "DELETE FROM episodes WHERE agent_id = ? AND id = ?")
            var ids: [String] = []
            for row in rows {
                let id = try row.decode(String.self, atIndex: 0)
                lexical.removing(try row.decode(Int64.self, atIndex: 1), of: agentID)
                try delete.execute(arguments: [agentID, id])
                for column in columns { effects.append(IndexEffect(column: column.name, agentID: agentID, episodeID: id, vector: nil)) }
                ids.append(id)
            }
            // An agent without episodes leaves nothing behind, not even its name.
            try db.execute(
                sql: "DELETE FROM agents WHERE agent_id = ? AND NOT EXISTS (SELECT 1 FROM episodes WHERE agent_id = ?)",
                arguments: [agentID, agentID])
            return (ids, try lexical.finish(changing: [agentID], db))
        }
        applyLexicalChanges(changes)
        return deleted
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
