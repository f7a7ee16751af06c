#ifndef EPISODIC_AGENT_FTS_H
#define EPISODIC_AGENT_FTS_H

// Declared, not included: the SQLite header belongs to GRDB's system module.
typedef struct sqlite3 sqlite3;

/// Registers, on one SQLite connection, what the agent-scoped full-text index needs:
///
/// - the FTS5 tokenizer `episodic_agent`, which wraps another tokenizer (its arguments, e.g.
///   `porter unicode61 remove_diacritics 2`) and prefixes every token of a text that starts with
///   the marker `ag<agent_seq>\x1f` with `<agent_seq>\x1f`, so that each agent has its own terms
///   and a query reads only that agent's posting lists;
/// - the FTS5 ranking function `episodic_bm25(episodes, tokens)`: BM25 as FTS5's `bm25()` computes
///   it (k1 1.2, b 0.75), but with the agent's episode count and total token count in place of the
///   whole table's, so that an agent's ranking is the one a store holding that agent alone gives;
/// - the SQL function `episodic_lexical_length(text)`: how many tokens the index counts for `text`
///   (what the triggers add to the agent's token total).
///
/// Returns an SQLite result code.
int episodic_agent_fts_register(sqlite3 *db);

#endif
