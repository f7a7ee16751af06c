#ifndef EPISODIC_AGENT_FTS_H
#define EPISODIC_AGENT_FTS_H

// Declared, not included: the SQLite header belongs to GRDB's system module.
typedef struct sqlite3 sqlite3;

#include <stdint.h>

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
///   (what the triggers add to the agent's token total);
/// - the SQL function `episodic_lexical_terms(text)`: the terms FTS5 looks up for a query phrase
///   of `text` (without the agent's prefix), separated by `\x1f`.
/// - the SQL function `episodic_lexical_document_terms(text)`: every term occurrence FTS5 indexes
///   for a document `text` (without the agent's prefix), separated by `\x1f`.
///
/// Returns an SQLite result code.
int episodic_agent_fts_register(sqlite3 *db);

/// BM25's inverse document frequency as `episodic_bm25` computes it, for a term in `hits` of an
/// agent's `rows` episodes.
double episodic_bm25_idf(double rows, double hits);

/// Adds one term's BM25 contribution, as `episodic_bm25` computes it, to `scores[document]` for
/// each of `count` postings (`documents[i]` holding the term `frequencies[i]` times);
/// `lengths[document]` is the episode's token count, `average` the agent's mean.
void episodic_bm25_accumulate(double *scores, const int32_t *documents, const int32_t *frequencies, long count,
                              const int32_t *lengths, double idf, double average);

/// One agent's postings as `episodic_postings_read` returns them (free with
/// `episodic_postings_free`).
typedef struct EpisodicPostings {
    /// Terms found, in the index's order.
    long term_count;
    /// The terms without the agent's prefix, each NUL-terminated, at `term_offsets[i]`.
    char *term_text;
    long *term_offsets;
    /// Term `i`'s postings are `[term_starts[i], term_starts[i + 1])` of `documents`/`frequencies`.
    long *term_starts;
    /// Episodes holding term `i` (FTS5's document frequency).
    long *term_hits;
    /// Document numbers (indices into the caller's `rows`) and the term's count in each.
    int32_t *documents;
    int32_t *frequencies;
    long count;
} EpisodicPostings;

/// Reads from the vocabulary table `episodes_fts_instances` (fts5vocab, `instance`) every term
/// behind `prefix` (`<agent_seq>\x1f`) with, per episode, its count; `rows` are the agent's FTS
/// rowids, ascending, and a posting's document is its row's index there. Returns an SQLite code.
int episodic_postings_read(sqlite3 *db, const char *prefix, const int64_t *rows, long row_count,
                           EpisodicPostings *out);

/// Frees what `episodic_postings_read` allocated.
void episodic_postings_free(EpisodicPostings *postings);

#endif
