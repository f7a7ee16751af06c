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
    public func lexicalSearch(query: String, topK: Int, agentID: String, filter: EpisodeFilter?) async throws -> [LexicalHit] {
        if let filter { try filter.validate() }
        let words = LexicalQuery.terms(in: query)
        guard !words.isEmpty, topK > 0 else { return [] }
        var condition = ""
        var extra = StatementArguments()
        if let filter, filter.needsRows, let ids = try? passingIDs(agentID: agentID, filter: filter),
            ids.count <= Self.lexicalPassingSetLimit
        {
            // The set a retrieval's dense search and quality scan use too (computed once for the
            // three): each FTS match is then looked up in it instead of reading its metadata.
            guard !ids.isEmpty else { return [] }
            condition = "AND e.id IN (SELECT value FROM json_each(?))"
            extra = [JSONValue.array(ids.map(JSONValue.string)).jsonText]
        } else if let filter, !filter.isEmpty {
            let sql = SQLiteFilter.condition(filter)
            condition = "AND " + sql.sql
            extra = sql.arguments
        }
        return try read { db in
            guard
                let agent = try Row.fetchOne(
                    db, sql: "SELECT agent_seq, episode_count, lexical_tokens FROM agents WHERE agent_id = ?", arguments: [agentID])
            else { return [] }
            let agentSeq: Int64 = agent[0]
            // FTS5's `rank` (set per query to the agent's BM25) sorts twice as fast as ORDER BY
            // episodic_bm25(…), id; ties are then ordered by id here.
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT e.id, -f.rank FROM episodes_fts f JOIN episodes e ON e.seq = f.rowid
                    WHERE episodes_fts MATCH ? AND f.rank MATCH ? AND e.agent_id = ? \(condition) ORDER BY f.rank LIMIT ?
                    """,
                arguments: [
                    AgentLexicalIndex.matchExpression(words: words, agentSeq: agentSeq),
                    AgentLexicalIndex.rank(episodes: agent[1], tokens: agent[2]), agentID,
                ] + extra + [topK])
            return rows.compactMap { row -> LexicalHit? in
                guard let id = SQLiteRows.text(row[0]) else { return nil }
                return LexicalHit(episodeID: id, score: row[1])
            }.sorted { $0.score != $1.score ? $0.score > $1.score : $0.episodeID < $1.episodeID }
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
