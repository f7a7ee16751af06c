import Foundation
import GRDB
import VectorSearch

extension SQLiteEpisodeStore {
    /// Exact top-k on the in-memory index of the column (loaded on the first search, then kept in
    /// step with every write, this process's and others'): results equal an exhaustive float32 scan.
    ///
    /// A filter on rows (metadata, dates) is evaluated in SQL first; the search then ranks only
    /// the episodes it let through. Excluded ids alone need no rows: the search over-fetches.
    public func similaritySearch(vector: [Float], column name: String, topK: Int, agentID: String, filter: EpisodeFilter?) async throws
        -> [ScoredEpisode]
    {
        let column = try column(named: name)
        do { try column.validate(vector) } catch { throw StoreError.vector(error) }
        if let filter { try filter.validate() }
        let index = try follower.index(column.name)
        if index.count(agentID: agentID) == 0, !(try await agentExists(agentID)) { throw StoreError.unknownAgent(agentID) }
        var restriction: VectorIndex.Restriction?
        if let filter, filter.needsRows {
            restriction = .only(try passingIDs(agentID: agentID, filter: filter))
        } else if let filter, !filter.excludedIDs.isEmpty {
            restriction = .excluding(filter.excludedIDs)
        }
        do { return try index.search(vector, agentID: agentID, topK: topK, restrictedTo: restriction) } catch {
            throw StoreError.vector(error)
        }
    }

    /// The ids of the agent's episodes that pass `filter`: from ``PassingSetCache`` when nothing
    /// was committed since they were computed, else read (and remembered).
    func passingIDs(agentID: String, filter: EpisodeFilter) throws -> Set<String> {
        let version = try follower.committedVersion()
        if let version, let ids = passingSets.ids(agentID: agentID, filter: filter, version: version) { return ids }
        let condition = SQLiteFilter.condition(filter)
        let ids = try read { db in
            Set(
                try String.fetchAll(
                    db, sql: "SELECT e.id FROM episodes e WHERE e.agent_id = ? AND \(condition.sql)",
                    arguments: [agentID] + condition.arguments))
        }
        if let version { passingSets.store(agentID: agentID, filter: filter, version: version, ids: ids) }
        return ids
    }

    /// Passing sets up to this size are handed to the lexical search's SQL as a list of ids
    /// (bound as one JSON array); larger ones are evaluated there row by row instead.
    static let lexicalPassingSetLimit = 20_000

    /// BM25 over the episodes' embedded text (SQLite FTS5, Porter stemming) within one agent: the
    /// index holds each agent's terms apart (``AgentLexicalIndex``), so the cost follows the
    /// agent's matches, not the whole store's, and BM25's N, document frequencies and average
    /// length are the agent's own — the ranking a store holding that agent alone gives.
    ///
    /// Agents searched while nothing changes are ranked from a copy of their postings in memory
    /// (``LexicalMemoryIndex``; the same scores, bit for bit), the others by FTS5.
    public func lexicalSearch(query: String, topK: Int, agentID: String, filter: EpisodeFilter?) async throws -> [LexicalHit] {
        try lexicalSearch(query: query, topK: topK, agentID: agentID, filter: filter, path: .automatic)
    }

    /// Which ranking a lexical search uses (tests compare them).
    enum LexicalPath {
        /// The postings in memory when current, else FTS5.
        case automatic
        /// FTS5 only.
        case fts5
        /// The postings in memory, read now in the search's transaction when not current (never
        /// kept); FTS5 only where they cannot answer (a phrase of several terms, a filter
        /// evaluated row by row).
        case memory
    }

    func lexicalSearch(query: String, topK: Int, agentID: String, filter: EpisodeFilter?, path: LexicalPath) throws
        -> [LexicalHit]
    {
        if let filter { try filter.validate() }
        let words = LexicalQuery.terms(in: query)
        guard !words.isEmpty, topK > 0 else { return [] }
        var condition = ""
        var extra = StatementArguments()
        // The restriction as the postings in memory apply it; nil when only SQL can.
        var restriction: (allowed: Set<String>?, excluded: Set<String>)? = (nil, [])
        if let filter, filter.needsRows, let ids = try? passingIDs(agentID: agentID, filter: filter),
            ids.count <= Self.lexicalPassingSetLimit
        {
            // The set a retrieval's dense search and quality scan use too (computed once for the
            // three): each FTS match is then looked up in it instead of reading its metadata.
            guard !ids.isEmpty else { return [] }
            condition = "AND e.id IN (SELECT value FROM json_each(?))"
            extra = [JSONValue.array(ids.map(JSONValue.string)).jsonText]
            restriction = (ids, [])
        } else if let filter, !filter.isEmpty {
            let sql = SQLiteFilter.condition(filter)
            condition = "AND " + sql.sql
            extra = sql.arguments
            restriction = filter.needsRows ? nil : (nil, filter.excludedIDs)
        }
        var load: Int64?
        defer { if let load { loadPostings(agentSeq: load, agentID: agentID) } }
        return try read { db in
            guard
                let agent = try Row.fetchOne(
                    db, sql: "SELECT agent_seq, episode_count, lexical_tokens, lexical_version FROM agents WHERE agent_id = ?",
                    arguments: [agentID])
            else { return [] }
            let agentSeq: Int64 = agent[0]
            let episodes: Int64 = agent[1]
            let tokens: Int64 = agent[2]
            if let restriction, path != .fts5 {
                var postings: AgentPostings?
                switch lexicalMemory.lookup(
                    agentSeq: agentSeq, agentID: agentID, version: agent[3], episodes: episodes, tokens: tokens)
                {
                case .fresh(let current): postings = current
                case .stale(let shouldLoad): if shouldLoad { load = agentSeq }
                }
                if postings == nil, path == .memory { postings = try AgentPostings.load(db, agentSeq: agentSeq, agentID: agentID) }
                if let postings, let phrases = try Self.singleTermPhrases(words, db) {
                    return postings.search(
                        phrases: phrases, episodes: episodes, tokens: tokens, topK: topK, allowed: restriction.allowed,
                        excluded: restriction.excluded)
                }
            }
            // FTS5's `rank` (set per query to the agent's BM25) sorts twice as fast as ORDER BY
            // episodic_bm25(…), id; ties are then ordered by id here. FTS5 ranks and sorts every
            // match whatever the limit: rows past `topK` cost only their join, and show where a
            // tie at the limit ends.
            let sql = Self.rankedMatchesSQL(condition: condition)
            let arguments: StatementArguments =
                [
                    AgentLexicalIndex.matchExpression(words: words, agentSeq: agentSeq),
                    AgentLexicalIndex.rank(episodes: episodes, tokens: tokens), agentID,
                ] + extra
            let fetched = topK + max(1, min(topK, Self.tieWindow))
            var hits = try Row.fetchAll(db, sql: sql + " ORDER BY f.rank LIMIT ?", arguments: arguments + [fetched])
                .compactMap { row -> LexicalHit? in
                    guard let id = SQLiteRows.text(row[0]) else { return nil }
                    return LexicalHit(episodeID: id, score: row[1])
                }.sorted { $0.score != $1.score ? $0.score > $1.score : $0.episodeID < $1.episodeID }
            if hits.count > topK {
                let last = hits[topK - 1].score
                if hits.count == fetched && hits[fetched - 1].score == last {
                    // A tie at the limit runs past the rows fetched, and which of its episodes
                    // FTS5 returned is its own choice: take all of them and keep the first ids,
                    // as the postings in memory do, so that a ranking never depends on which of
                    // the two answered.
                    let tied = try String.fetchAll(db, sql: sql + Self.tiedRankCondition, arguments: arguments + [-last]).sorted()
                    hits = hits.filter { $0.score > last } + tied.map { LexicalHit(episodeID: $0, score: last) }
                }
                hits.removeLast(hits.count - topK)
            }
            return hits
        }
    }

    /// The agent's FTS5 matches with their scores, restricted by `condition` (on `e`). CROSS JOIN
    /// keeps FTS5 the outer loop whatever else the query says: with the episodes outside, every
    /// row would run the MATCH — and the ranking's document counts — again.
    static func rankedMatchesSQL(condition: String) -> String {
        """
        SELECT e.id, -f.rank FROM episodes_fts f CROSS JOIN episodes e ON e.seq = f.rowid
        WHERE episodes_fts MATCH ? AND f.rank MATCH ? AND e.agent_id = ? \(condition)
        """
    }

    /// Rows fetched past the limit (at most as many again): enough for most ties at the limit,
    /// which otherwise take a second pass over the matches.
    static let tieWindow = 400

    /// Added to ``rankedMatchesSQL(condition:)``: the matches whose rank is the one bound last
    /// (`+` leaves the comparison to SQLite: FTS5 takes no other constraint on its rank).
    static let tiedRankCondition = " AND +f.rank = ?"

    /// The term each word's FTS5 phrase looks up (nil for a word that yields none), or nil when a
    /// word yields several — a phrase only FTS5's positions can match.
    static func singleTermPhrases(_ words: [String], _ db: Database) throws -> [String?]? {
        let joined = try String.fetchAll(
            db, sql: "SELECT episodic_lexical_terms(value) FROM json_each(?) ORDER BY key",
            arguments: [JSONValue.array(words.map(JSONValue.string)).jsonText])
        var phrases: [String?] = []
        for terms in joined {
            if terms.isEmpty {
                phrases.append(nil)
            } else if terms.utf8.contains(0x1F) {
                return nil
            } else {
                phrases.append(terms)
            }
        }
        return phrases
    }

    /// Reads the full-text postings of `agentID` into memory now, instead of after two searches
    /// (a server warming up, a benchmark). Returns whether they were kept: false when they exceed
    /// ``SQLiteStoreConfiguration/lexicalMemoryBytes`` or the agent has no episodes; an agent the
    /// store does not know is ``StoreError/unknownAgent(_:)``.
    public func loadLexicalPostings(agentID: String) async throws -> Bool {
        let loaded = try read { db -> (Int64, AgentPostings)? in
            guard let seq = try Int64.fetchOne(db, sql: "SELECT agent_seq FROM agents WHERE agent_id = ?", arguments: [agentID])
            else { return nil }
            return try AgentPostings.load(db, agentSeq: seq, agentID: agentID).map { (seq, $0) }
        }
        guard let (seq, postings) = loaded else { throw StoreError.unknownAgent(agentID) }
        guard !postings.ids.isEmpty else { return false }
        return lexicalMemory.keep(postings, agentSeq: seq)
    }

    /// What the full-text postings in memory hold and have done (``lexicalSearch(query:topK:agentID:filter:)``).
    public struct LexicalMemoryStatistics: Sendable, Equatable {
        /// Bytes held now, of ``SQLiteStoreConfiguration/lexicalMemoryBytes``.
        public var bytes: Int
        /// Agents whose postings are held now.
        public var agents: Int
        /// Searches that found their agent's postings current, since the store opened.
        public var searches: Int
        /// Loads finished since the store opened (kept or not).
        public var loads: Int
        /// Episodes this process's writes added to or removed from held postings (instead of
        /// leaving them stale); a rewritten episode counts twice.
        public var edits: Int
    }

    /// The full-text postings in memory now.
    public var lexicalMemoryStatistics: LexicalMemoryStatistics {
        LexicalMemoryStatistics(
            bytes: lexicalMemory.bytes, agents: lexicalMemory.agents, searches: lexicalMemory.served,
            loads: lexicalMemory.loadsCompleted, edits: lexicalMemory.edited)
    }

    /// Reads the postings of an agent on the index's queue (outside Swift's cooperative pool,
    /// which a load of ~100 ms would hold) and hands them to ``lexicalMemory``.
    func loadPostings(agentSeq: Int64, agentID: String) {
        lexicalMemory.loads.async { [self] in
            let postings = try? read { db in try AgentPostings.load(db, agentSeq: agentSeq, agentID: agentID) }
            lexicalMemory.finishLoading(agentSeq: agentSeq, postings: postings ?? nil)
        }
    }

    public func prepareForSearch() async throws {
        for column in columns { _ = try follower.index(column.name) }
    }

    /// The in-memory index of `column`, loaded and up to date (for callers that search many
    /// times, such as benchmarks).
    public func index(column name: String) throws -> VectorIndex {
        try follower.index(try column(named: name).name)
    }
}
