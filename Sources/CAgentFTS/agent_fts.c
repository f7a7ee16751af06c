// The agent-scoped FTS5 index: a wrapping tokenizer, a per-agent BM25, a token counter.
// Why: with one shared vocabulary a query term's posting list holds every agent's rows, so a
// per-agent search costs what the whole store costs. Prefixing each token with the agent makes the
// posting lists per agent; the ranking then takes the agent's own N and average length.
#include <sqlite3.h>

#include "agent_fts.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// ---- tokenizer --------------------------------------------------------------------------------

typedef struct AgentTokenizer {
    fts5_tokenizer inner_methods;
    Fts5Tokenizer *inner;
} AgentTokenizer;

static int agent_tokenizer_create(void *context, const char **args, int count, Fts5Tokenizer **out) {
    fts5_api *api = (fts5_api *)context;
    const char *inner_name = count > 0 ? args[0] : "unicode61";
    AgentTokenizer *tokenizer = sqlite3_malloc(sizeof *tokenizer);
    if (!tokenizer) return SQLITE_NOMEM;
    memset(tokenizer, 0, sizeof *tokenizer);
    void *inner_context = 0;
    int rc = api->xFindTokenizer(api, inner_name, &inner_context, &tokenizer->inner_methods);
    if (rc == SQLITE_OK) {
        rc = tokenizer->inner_methods.xCreate(inner_context, count > 0 ? args + 1 : 0, count > 0 ? count - 1 : 0,
                                              &tokenizer->inner);
    }
    if (rc != SQLITE_OK) {
        sqlite3_free(tokenizer);
        return rc;
    }
    *out = (Fts5Tokenizer *)tokenizer;
    return SQLITE_OK;
}

static void agent_tokenizer_delete(Fts5Tokenizer *pointer) {
    AgentTokenizer *tokenizer = (AgentTokenizer *)pointer;
    if (tokenizer->inner) tokenizer->inner_methods.xDelete(tokenizer->inner);
    sqlite3_free(tokenizer);
}

typedef int (*TokenCallback)(void *, int, const char *, int, int, int);

typedef struct PrefixingContext {
    void *outer;
    TokenCallback emit;
    const char *prefix;
    int prefix_length;
    int offset;
    char *buffer;
    int capacity;
    char local[256];
} PrefixingContext;

static int prefix_token(void *pointer, int flags, const char *token, int length, int start, int end) {
    PrefixingContext *context = pointer;
    int needed = context->prefix_length + length;
    if (needed > context->capacity) {
        int capacity = needed * 2;
        char *buffer = sqlite3_malloc(capacity);
        if (!buffer) return SQLITE_NOMEM;
        if (context->buffer != context->local) sqlite3_free(context->buffer);
        context->buffer = buffer;
        context->capacity = capacity;
    }
    memcpy(context->buffer, context->prefix, (size_t)context->prefix_length);
    memcpy(context->buffer + context->prefix_length, token, (size_t)length);
    return context->emit(context->outer, flags, context->buffer, needed, start + context->offset,
                         end + context->offset);
}

/// Length of the marker `ag<digits>\x1f` at the start of `text`, or 0 when there is none.
static int marker_length(const char *text, int length) {
    if (length < 4 || text[0] != 'a' || text[1] != 'g') return 0;
    int i = 2;
    while (i < length && text[i] >= '0' && text[i] <= '9') i++;
    if (i == 2 || i >= length || text[i] != '\x1f') return 0;
    return i + 1;
}

static int agent_tokenize(Fts5Tokenizer *pointer, void *outer, int flags, const char *text, int length,
                          TokenCallback emit) {
    AgentTokenizer *tokenizer = (AgentTokenizer *)pointer;
    int marker = marker_length(text, length);
    PrefixingContext context;
    context.outer = outer;
    context.emit = emit;
    // The prefix is the marker without its "ag": the agent's number and the separator.
    context.prefix = text + 2;
    context.prefix_length = marker > 0 ? marker - 2 : 0;
    context.offset = marker;
    context.buffer = context.local;
    context.capacity = (int)sizeof context.local;
    int rc = tokenizer->inner_methods.xTokenize(tokenizer->inner, &context, flags, text + marker, length - marker,
                                                prefix_token);
    if (context.buffer != context.local) sqlite3_free(context.buffer);
    return rc;
}

// ---- ranking ----------------------------------------------------------------------------------

typedef struct RankingData {
    int phrases;
    double *idf;
    double *frequency;
} RankingData;

static int count_row(const Fts5ExtensionApi *api, Fts5Context *fts, void *pointer) {
    (void)api;
    (void)fts;
    (*(sqlite3_int64 *)pointer)++;
    return SQLITE_OK;
}

// BM25's two formulas, shared by the FTS5 ranking and the in-memory index
// (`episodic_bm25_accumulate`), so that both give bit-identical scores.
static const double bm25_k1 = 1.2, bm25_b = 0.75;

static double bm25_idf(double rows, double hits) {
    double idf = log((rows - hits + 0.5) / (hits + 0.5));
    return idf <= 0.0 ? 1e-6 : idf;
}

static double bm25_term(double idf, double frequency, double length, double average) {
    return idf * (frequency * (bm25_k1 + 1.0)) / (frequency + bm25_k1 * (1 - bm25_b + bm25_b * length / average));
}

double episodic_bm25_idf(double rows, double hits) { return bm25_idf(rows, hits); }

void episodic_bm25_accumulate(double *scores, const int32_t *documents, const int32_t *frequencies, long count,
                              const int32_t *lengths, double idf, double average) {
    for (long i = 0; i < count; i++) {
        int32_t document = documents[i];
        scores[document] += bm25_term(idf, (double)frequencies[i], (double)lengths[document], average);
    }
}

// FTS5's bm25() (fts5_aux.c) with N and the average length given: the agent's, not the table's.
static void episodic_bm25(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *result, int count,
                          sqlite3_value **values) {
    if (count != 2) {
        sqlite3_result_error(result, "episodic_bm25(episodes, tokens) takes the agent's episode and token counts", -1);
        return;
    }
    double rows = sqlite3_value_double(values[0]);
    double tokens = sqlite3_value_double(values[1]);
    double average = rows > 0 ? tokens / rows : 0;
    if (average <= 0) average = 1;
    RankingData *data = api->xGetAuxdata(fts, 0);
    int rc = SQLITE_OK;
    if (!data) {
        int phrases = api->xPhraseCount(fts);
        data = sqlite3_malloc64(sizeof *data + 2 * (size_t)phrases * sizeof(double));
        if (!data) {
            sqlite3_result_error_nomem(result);
            return;
        }
        data->phrases = phrases;
        data->idf = (double *)(data + 1);
        data->frequency = data->idf + phrases;
        for (int i = 0; rc == SQLITE_OK && i < phrases; i++) {
            sqlite3_int64 hits = 0;
            rc = api->xQueryPhrase(fts, i, &hits, count_row);
            data->idf[i] = bm25_idf(rows, (double)hits);
        }
        if (rc == SQLITE_OK) {
            rc = api->xSetAuxdata(fts, data, sqlite3_free);
        } else {
            sqlite3_free(data);
        }
        if (rc != SQLITE_OK) {
            sqlite3_result_error_code(result, rc);
            return;
        }
    }
    memset(data->frequency, 0, (size_t)data->phrases * sizeof(double));
    int instances = 0;
    rc = api->xInstCount(fts, &instances);
    for (int i = 0; rc == SQLITE_OK && i < instances; i++) {
        int phrase, column, offset;
        rc = api->xInst(fts, i, &phrase, &column, &offset);
        if (rc == SQLITE_OK && phrase >= 0 && phrase < data->phrases) data->frequency[phrase] += 1.0;
    }
    int length = 0;
    if (rc == SQLITE_OK) rc = api->xColumnSize(fts, -1, &length);
    if (rc != SQLITE_OK) {
        sqlite3_result_error_code(result, rc);
        return;
    }
    double score = 0.0;
    for (int i = 0; i < data->phrases; i++) {
        score += bm25_term(data->idf[i], data->frequency[i], (double)length, average);
    }
    sqlite3_result_double(result, -1.0 * score);
}

// ---- token counter ----------------------------------------------------------------------------

typedef struct Counter {
    fts5_tokenizer methods;
    Fts5Tokenizer *tokenizer;
} Counter;

static int count_token(void *pointer, int flags, const char *token, int length, int start, int end) {
    (void)token;
    (void)length;
    (void)start;
    (void)end;
    // FTS5 counts a column's size the same way: colocated synonyms do not add to it.
    if ((flags & FTS5_TOKEN_COLOCATED) == 0) (*(sqlite3_int64 *)pointer)++;
    return SQLITE_OK;
}

static void lexical_length(sqlite3_context *result, int count, sqlite3_value **values) {
    (void)count;
    Counter *counter = sqlite3_user_data(result);
    if (sqlite3_value_type(values[0]) == SQLITE_NULL) {
        sqlite3_result_int64(result, 0);
        return;
    }
    const char *text = (const char *)sqlite3_value_text(values[0]);
    int length = sqlite3_value_bytes(values[0]);
    sqlite3_int64 tokens = 0;
    int rc = counter->methods.xTokenize(counter->tokenizer, &tokens, FTS5_TOKENIZE_DOCUMENT, text ? text : "",
                                        text ? length : 0, count_token);
    if (rc != SQLITE_OK) {
        sqlite3_result_error_code(result, rc);
        return;
    }
    sqlite3_result_int64(result, tokens);
}

static int append_token(void *pointer, int flags, const char *token, int length, int start, int end) {
    (void)start;
    (void)end;
    if (flags & FTS5_TOKEN_COLOCATED) return SQLITE_OK;
    sqlite3_str *terms = pointer;
    if (sqlite3_str_length(terms) > 0) sqlite3_str_appendchar(terms, 1, '\x1f');
    sqlite3_str_append(terms, token, length);
    return sqlite3_str_errcode(terms);
}

// The terms of `text` (without the agent's prefix) as the tokenizer gives them for `flags`,
// separated by \x1f.
static void joined_terms(sqlite3_context *result, sqlite3_value **values, int flags) {
    Counter *counter = sqlite3_user_data(result);
    const char *text = (const char *)sqlite3_value_text(values[0]);
    int length = sqlite3_value_bytes(values[0]);
    sqlite3_str *terms = sqlite3_str_new(sqlite3_context_db_handle(result));
    int rc = counter->methods.xTokenize(counter->tokenizer, terms, flags, text ? text : "", text ? length : 0,
                                        append_token);
    int size = sqlite3_str_length(terms);
    char *joined = sqlite3_str_finish(terms);
    if (rc == SQLITE_OK && size > 0 && !joined) rc = SQLITE_NOMEM;
    if (rc != SQLITE_OK) {
        sqlite3_free(joined);
        sqlite3_result_error_code(result, rc);
        return;
    }
    sqlite3_result_text(result, joined ? joined : "", size, joined ? sqlite3_free : SQLITE_STATIC);
}

// The terms a query phrase of `text` looks up: what FTS5 hands the index for
// `"ag<n>\x1f<text>"`, for the in-memory index's lookups.
static void lexical_terms(sqlite3_context *result, int count, sqlite3_value **values) {
    (void)count;
    joined_terms(result, values, FTS5_TOKENIZE_QUERY);
}

// Every term occurrence FTS5 indexes for a document `text` (a term twice in the text is there
// twice), for adding an episode to the in-memory index.
static void lexical_document_terms(sqlite3_context *result, int count, sqlite3_value **values) {
    (void)count;
    joined_terms(result, values, FTS5_TOKENIZE_DOCUMENT);
}

static void counter_delete(void *pointer) {
    Counter *counter = pointer;
    if (counter->tokenizer) counter->methods.xDelete(counter->tokenizer);
    sqlite3_free(counter);
}

// ---- postings of one agent --------------------------------------------------------------------

static long find_row(const int64_t *rows, long count, int64_t row) {
    long low = 0, high = count - 1;
    while (low <= high) {
        long middle = low + (high - low) / 2;
        if (rows[middle] == row) return middle;
        if (rows[middle] < row) low = middle + 1; else high = middle - 1;
    }
    return -1;
}

// Reallocates `*array` to `capacity` elements of `size` bytes.
static int reserve(void *array, size_t size, long capacity) {
    void *grown = sqlite3_realloc64(*(void **)array, (sqlite3_uint64)capacity * size);
    if (!grown) return SQLITE_NOMEM;
    *(void **)array = grown;
    return SQLITE_OK;
}

void episodic_postings_free(EpisodicPostings *postings) {
    sqlite3_free(postings->term_text);
    sqlite3_free(postings->term_offsets);
    sqlite3_free(postings->term_starts);
    sqlite3_free(postings->term_hits);
    sqlite3_free(postings->documents);
    sqlite3_free(postings->frequencies);
    memset(postings, 0, sizeof *postings);
}

int episodic_postings_read(sqlite3 *db, const char *prefix, const int64_t *rows, long row_count,
                           EpisodicPostings *out) {
    memset(out, 0, sizeof *out);
    int prefix_length = (int)strlen(prefix);
    if (prefix_length == 0) return SQLITE_MISUSE;
    // The agent's terms sort between its prefix and the prefix with its last byte incremented.
    char high[64];
    if (prefix_length >= (int)sizeof high) return SQLITE_MISUSE;
    memcpy(high, prefix, (size_t)prefix_length + 1);
    high[prefix_length - 1]++;
    sqlite3_stmt *statement = 0;
    int rc = sqlite3_prepare_v2(db, "SELECT term, doc FROM episodes_fts_instances WHERE term >= ?1 AND term < ?2", -1,
                                &statement, 0);
    if (rc != SQLITE_OK) return rc;
    sqlite3_bind_text(statement, 1, prefix, prefix_length, SQLITE_STATIC);
    sqlite3_bind_text(statement, 2, high, prefix_length, SQLITE_STATIC);
    long text_capacity = 0, text_length = 0, term_capacity = 0, posting_capacity = 0;
    long term = -1;
    int64_t last_row = -1;
    long last_document = -1;
    while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(statement, 0);
        int length = sqlite3_column_bytes(statement, 0);
        int64_t row = sqlite3_column_int64(statement, 1);
        if (!text || length < prefix_length) continue;
        const char *word = text + prefix_length;
        int word_length = length - prefix_length;
        int same = term >= 0 && text_length - out->term_offsets[term] - 1 == word_length &&
                   memcmp(out->term_text + out->term_offsets[term], word, (size_t)word_length) == 0;
        if (!same) {
            term++;
            if (term + 1 >= term_capacity) {
                long next = term_capacity ? term_capacity * 2 : 1024;
                if (reserve(&out->term_offsets, sizeof(long), next) || reserve(&out->term_starts, sizeof(long), next) ||
                    reserve(&out->term_hits, sizeof(long), next)) {
                    rc = SQLITE_NOMEM;
                    break;
                }
                term_capacity = next;
            }
            if (text_length + word_length + 1 > text_capacity) {
                long next = text_capacity ? text_capacity * 2 : 16384;
                while (next < text_length + word_length + 1) next *= 2;
                if (reserve(&out->term_text, 1, next)) {
                    rc = SQLITE_NOMEM;
                    break;
                }
                text_capacity = next;
            }
            out->term_offsets[term] = text_length;
            memcpy(out->term_text + text_length, word, (size_t)word_length);
            out->term_text[text_length + word_length] = 0;
            text_length += word_length + 1;
            out->term_starts[term] = out->count;
            out->term_hits[term] = 0;
            out->term_count = term + 1;
            last_row = -1;
            last_document = -1;
        }
        if (row == last_row) {
            // Another position of the term in the same episode.
            if (last_document >= 0) out->frequencies[out->count - 1]++;
            continue;
        }
        last_row = row;
        out->term_hits[term]++;
        // A row that is not one of the agent's episodes would fail FTS5's join too: counted in
        // the term's document frequency, never ranked.
        last_document = find_row(rows, row_count, row);
        if (last_document < 0) continue;
        if (out->count == posting_capacity) {
            long next = posting_capacity ? posting_capacity * 2 : 16384;
            if (reserve(&out->documents, sizeof(int32_t), next) || reserve(&out->frequencies, sizeof(int32_t), next)) {
                rc = SQLITE_NOMEM;
                break;
            }
            posting_capacity = next;
        }
        out->documents[out->count] = (int32_t)last_document;
        out->frequencies[out->count] = 1;
        out->count++;
    }
    sqlite3_finalize(statement);
    if (rc != SQLITE_DONE) {
        episodic_postings_free(out);
        return rc;
    }
    if (out->term_starts) out->term_starts[out->term_count] = out->count;
    return SQLITE_OK;
}

// ---- registration -----------------------------------------------------------------------------

static fts5_api *fts5_api_of(sqlite3 *db) {
    fts5_api *api = 0;
    sqlite3_stmt *statement = 0;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &statement, 0) != SQLITE_OK) return 0;
    sqlite3_bind_pointer(statement, 1, (void *)&api, "fts5_api_ptr", 0);
    sqlite3_step(statement);
    sqlite3_finalize(statement);
    return api;
}

int episodic_agent_fts_register(sqlite3 *db) {
    fts5_api *api = fts5_api_of(db);
    if (!api || api->iVersion < 2) return SQLITE_ERROR;
    fts5_tokenizer methods = {agent_tokenizer_create, agent_tokenizer_delete, agent_tokenize};
    int rc = api->xCreateTokenizer(api, "episodic_agent", api, &methods, 0);
    if (rc == SQLITE_OK) rc = api->xCreateFunction(api, "episodic_bm25", 0, episodic_bm25, 0);
    if (rc != SQLITE_OK) return rc;

    // The counter uses the index's own inner tokenizer, configured as the table declares it.
    Counter *counter = sqlite3_malloc(sizeof *counter);
    if (!counter) return SQLITE_NOMEM;
    memset(counter, 0, sizeof *counter);
    void *context = 0;
    static const char *inner_args[] = {"unicode61", "remove_diacritics", "2"};
    rc = api->xFindTokenizer(api, "porter", &context, &counter->methods);
    if (rc == SQLITE_OK) rc = counter->methods.xCreate(context, inner_args, 3, &counter->tokenizer);
    if (rc != SQLITE_OK) {
        sqlite3_free(counter);
        return rc;
    }
    // One counter serves both functions; the first owns it (SQLite frees it with the connection).
    rc = sqlite3_create_function_v2(db, "episodic_lexical_length", 1,
                                    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, counter, lexical_length, 0,
                                    0, counter_delete);
    if (rc != SQLITE_OK) return rc;
    rc = sqlite3_create_function_v2(db, "episodic_lexical_terms", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                                    counter, lexical_terms, 0, 0, 0);
    if (rc != SQLITE_OK) return rc;
    return sqlite3_create_function_v2(db, "episodic_lexical_document_terms", 1,
                                      SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, counter,
                                      lexical_document_terms, 0, 0, 0);
}
