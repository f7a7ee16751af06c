import CAgentFTS
import GRDB

/// The SQL side of the agent-scoped full-text index (schema v7): the `episodic_agent` FTS5
/// tokenizer, the `episodic_bm25` ranking and the `episodic_lexical_length` counter, registered on
/// every connection the store opens (the index and its triggers cannot be read or written without
/// them, so other SQLite clients can read the store's tables but not write episodes).
enum AgentLexicalIndex {
    /// Registers the tokenizer and the functions on `db`.
    static func register(_ db: Database) throws {
        let code = episodic_agent_fts_register(db.sqliteConnection)
        guard code == 0 else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code),
                message: "could not register the agent-scoped FTS5 index (this SQLite needs FTS5)")
        }
    }

    /// The marker an agent's indexed text and query phrases start with.
    static func marker(agentSeq: Int64) -> String { "ag\(agentSeq)\u{1F}" }

    /// The MATCH expression for `words` within one agent: each word a phrase behind the agent's
    /// marker, joined with OR.
    static func matchExpression(words: [String], agentSeq: Int64) -> String {
        let marker = marker(agentSeq: agentSeq)
        return words.map { "\"\(marker)\($0)\"" }.joined(separator: " OR ")
    }

    /// The ranking for one agent, with its episode and token counts as BM25's N and total length
    /// (integers, so the text FTS5 parses is exact).
    static func rank(episodes: Int64, tokens: Int64) -> String { "episodic_bm25(\(episodes), \(tokens))" }
}
