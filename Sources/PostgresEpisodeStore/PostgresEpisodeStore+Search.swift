import EpisodeStore
import Foundation
import PostgresNIO
import VectorSearch

extension PostgresEpisodeStore {
    /// Candidates fetched beyond `k` on the HNSW path: its relaxed order is only nearly sorted;
    /// the rows are sorted by their exact scores here.
    static let rescoreMargin = 16

    /// Scores are pgvector's inner products (computed in float32 by the server, as the index
    /// ranks); only ids and scores cross the wire.
    ///
    /// A filter becomes part of the query's WHERE clause: the exact scan reads only the rows that
    /// pass, and the HNSW scan (pgvector's iterative scan) walks the index until enough rows
    /// passing it were found. An agent whose passing rows number at most the exact-scan limit is
    /// scanned exactly.
    public func similaritySearch(vector: [Float], column name: String, topK: Int, agentID: String, filter: EpisodeFilter?) async throws
        -> [ScoredEpisode]
    {
        let column = try column(named: name)
        do { try column.validate(vector) } catch { throw StoreError.vector(error) }
        if let filter { try filter.validate() }
        guard topK > 0 else { return [] }
        let quoted = try PostgresIdentifier.quoted(column.name)
        let cast = castType(column.name)
        let episodes = try await agentEpisodeCount(agentID, cached: true)
        if episodes == 0 { throw StoreError.unknownAgent(agentID) }
        var binds = PostgresBindings()
        try binds.append(agentID)
        try binds.append(Self.literal(vector))
        var condition = ""
        var passing = episodes
        if let filter, !filter.isEmpty {
            condition = "AND " + (try PostgresFilter.condition(filter, binds: &binds))
            if episodes > postgres.exactScanLimit {
                passing = try await passingCount(agentID: agentID, filter: filter, atMost: postgres.exactScanLimit + 1)
            }
        }
        var candidates: [(String, Float)]
        if passing > postgres.exactScanLimit {
            // HNSW with pgvector 0.8's iterative scan: the index is walked until `limit` rows of
            // this agent were found (or the scan budget ran out), not filtered after the fact.
            let limit = topK + Self.rescoreMargin
            let efSearch = postgres.efSearch ?? min(1000, max(2 * limit, 100))
            let query = PostgresQuery(
                unsafeSQL: """
                    SELECT id, \(quoted) <#> $2::\(cast) FROM \(schema).episodes
                    WHERE agent_id = $1 AND \(quoted) IS NOT NULL \(condition) ORDER BY \(quoted) <#> $2::\(cast) LIMIT \(limit)
                    """, binds: binds)
            // Session settings (every approximate search sets them; exact scans do not read them):
            // one round trip instead of a transaction around three SET LOCALs.
            let settings = PostgresQuery(
                unsafeSQL: """
                    SELECT set_config('hnsw.ef_search', '\(efSearch)', false), set_config('hnsw.iterative_scan', 'relaxed_order', false),
                           set_config('hnsw.max_scan_tuples', '1000000', false)
                    """)
            candidates = try await read { connection in
                try await connection.query(settings, logger: self.logger)
                return try await connection.query(query, logger: self.logger).collect().map(Self.idAndScore)
            }
            // Never short: an approximate scan that found fewer rows than the agent has gives way
            // to the exact one.
            if candidates.count < limit,
                candidates.count < (condition.isEmpty ? try await vectorCount(column: column.name, agentID: agentID) : passing)
            {
                candidates = try await exactCandidates(binds: binds, quoted: quoted, cast: cast, condition: condition, limit: topK)
            }
        } else {
            candidates = try await exactCandidates(binds: binds, quoted: quoted, cast: cast, condition: condition, limit: topK)
        }
        if candidates.isEmpty, try await agentEpisodeCount(agentID, cached: false) == 0 { throw StoreError.unknownAgent(agentID) }
        var scored = candidates.map { ScoredEpisode(episodeID: $0.0, score: $0.1, column: column.name) }
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.episodeID < $1.episodeID }
        return Array(scored.prefix(topK))
    }

    /// An exact scan of the agent's vectors: the ORDER BY expression is not the index's, so the
    /// planner reads the agent's rows through the btree and sorts them.
    private func exactCandidates(binds: PostgresBindings, quoted: String, cast: String, condition: String, limit: Int) async throws
        -> [(String, Float)]
    {
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT id, \(quoted) <#> $2::\(cast) FROM \(schema).episodes
                WHERE agent_id = $1 AND \(quoted) IS NOT NULL \(condition) ORDER BY (\(quoted) <#> $2::\(cast)) + 0, id LIMIT \(limit)
                """, binds: binds)
        return try await read { connection in
            try await connection.query(query, logger: self.logger).collect().map(Self.idAndScore)
        }
    }

    /// An (id, negative inner product) row as (id, inner product).
    static func idAndScore(_ row: PostgresRow) throws -> (String, Float) {
        let (id, distance) = try row.decode((String, Double).self)
        return (id, Float(-distance))
    }

    /// How many of the agent's rows pass `filter`, counting no further than `atMost`.
    private func passingCount(agentID: String, filter: EpisodeFilter, atMost: Int) async throws -> Int {
        var binds = PostgresBindings()
        try binds.append(agentID)
        let condition = try PostgresFilter.condition(filter, binds: &binds)
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT count(*) FROM (SELECT 1 FROM \(schema).episodes WHERE agent_id = $1 AND \(condition) LIMIT \(atMost)) AS passing
                """, binds: binds)
        return try await read { connection in try await connection.query(query, logger: self.logger).collect().first?.decode(Int.self) ?? 0
        }
    }

    /// An (id, `real[]`) row; nil for a row that is not one.
    static func idAndVector(_ row: PostgresRow) throws -> (String, [Float])? {
        let (id, array) = try row.decode((String, ByteBuffer).self)
        return PostgresFloatArray.decode(array).map { (id, $0) }
    }

    /// Episodes of the agent, as the counts table keeps them (one row read). `cached`: a count
    /// read in the last few seconds will do — it only chooses between the exact and the
    /// approximate path, and both return every row there is.
    func agentEpisodeCount(_ agentID: String, cached: Bool = false) async throws -> Int {
        let now = Date()
        if cached, let (count, at) = agentCounts.withLock({ $0[agentID] }), now.timeIntervalSince(at) < 5 { return count }
        let query = PostgresQuery(
            unsafeSQL: "SELECT episodes FROM \(schema).agent_stats WHERE agent_id = $1", binds: try Self.bindings(agentID))
        let count = try await read { connection in
            try await connection.query(query, logger: self.logger).collect().first?.decode(Int.self) ?? 0
        }
        agentCounts.withLock { counts in
            if counts.count >= 10_000 { counts.removeAll(keepingCapacity: true) }
            counts[agentID] = (count, now)
        }
        return count
    }

    /// Full-text search in the agent's episodes, ranked by BM25 as SQLite's FTS5 ranks it (k1 1.2,
    /// b 0.75, FTS5's idf; a word repeated in the query counts as often): PostgreSQL's `english`
    /// configuration stems the words (Snowball) and drops stop words; the GIN index on
    /// (agent_id, lexical) finds the agent's rows holding any of them; document frequencies are
    /// counted among those rows — exact within the agent — and N and the average length come from
    /// `agent_stats`. At most ``lexicalCandidateLimit`` rows are scored (those `ts_rank_cd` ranks
    /// first), so that one very common word cannot make a query read a whole large agent.
    public func lexicalSearch(query text: String, topK: Int, agentID: String, filter: EpisodeFilter?) async throws -> [LexicalHit] {
        try await lexicalSearch(query: text, topK: topK, agentID: agentID, filter: filter, candidateLimit: Self.lexicalCandidateLimit)
    }

    /// ``lexicalSearch(query:topK:agentID:filter:)`` scoring at most `limit` matching rows.
    func lexicalSearch(query text: String, topK: Int, agentID: String, filter: EpisodeFilter?, candidateLimit limit: Int) async throws
        -> [LexicalHit]
    {
        if let filter { try filter.validate() }
        let terms = LexicalQuery.terms(in: text)
        guard !terms.isEmpty, topK > 0 else { return [] }
        let schema = self.schema, logger = self.logger
        let rows: (query: [(String, Int)], stats: (Int, Int)?, documents: [(String, String)]) = try await read { connection in
            let query = try await connection.query(
                "SELECT lexeme, coalesce(array_length(positions, 1), 1) FROM unnest(to_tsvector('english', \(terms.joined(separator: " "))))",
                logger: logger
            ).collect().map { try $0.decode((String, Int).self) }
            guard !query.isEmpty else { return ([], nil, []) }
            let tsquery = query.map { "'" + $0.0.replacingOccurrences(of: "'", with: "''") + "'" }.joined(separator: " | ")
            let stats = try await connection.query(
                PostgresQuery(
                    unsafeSQL: "SELECT episodes, tokens FROM \(schema).agent_stats WHERE agent_id = $1",
                    binds: try Self.bindings(agentID)), logger: logger
            ).collect().first?.decode((Int, Int).self)
            // Every matching row when there are at most `limit` (BM25 ranks them all: no order is
            // needed, and ordering by ts_rank_cd was half the query's time); else the `limit` best
            // by ts_rank_cd, a cheaper proxy.
            func matching(ordered: Bool) async throws -> [(String, String)] {
                var binds = PostgresBindings()
                try binds.append(agentID)
                try binds.append(tsquery)
                try binds.append(ordered ? limit : limit + 1)
                var condition = ""
                if let filter, !filter.isEmpty { condition = "AND " + (try PostgresFilter.condition(filter, binds: &binds)) }
                let order = ordered ? "ORDER BY ts_rank_cd(lexical, $2::tsquery) DESC, id" : ""
                // One row of two arrays: thousands of rows cost more to receive one by one.
                let matched = try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            SELECT coalesce(array_agg(id), '{}'), coalesce(array_agg(lexical::text), '{}') FROM (
                                SELECT id, lexical FROM \(schema).episodes WHERE agent_id = $1 AND lexical @@ $2::tsquery \(condition)
                                \(order) LIMIT $3) matched
                            """, binds: binds), logger: logger
                ).collect().first?.decode(([String], [String]).self)
                return matched.map { Array(zip($0.0, $0.1)) } ?? []
            }
            var documents = try await matching(ordered: false)
            if documents.count > limit { documents = try await matching(ordered: true) }
            return (query, stats, documents)
        }
        guard let (episodes, tokens) = rows.stats, !rows.documents.isEmpty else { return [] }
        let lexemes = rows.query.map { Array($0.0.utf8) }
        let documents = rows.documents.map { id, vector in
            let (length, frequencies) = TSVectorText.scan(vector, terms: lexemes)
            return BM25.Document(id: id, length: length, frequencies: frequencies)
        }
        let hits = BM25.rank(
            query: rows.query, documents: documents, documentCount: episodes, averageLength: Double(tokens) / Double(max(1, episodes)))
        return Array(hits.prefix(topK))
    }

    /// Rows of an agent a lexical search scores at most.
    static let lexicalCandidateLimit = 20_000

    public func prepareForSearch() async throws {}
}
