// The agent-scoped FTS5 index: a wrapping tokenizer, a per-agent BM25, a token counter.
// Why: with one shared vocabulary a query term's posting list holds every agent's rows, so a
// per-agent search costs what the whole store costs. Prefixing each token with the agent makes the
// posting lists per agent; the ranking then takes the agent's own N and average length.
#include <sqlite3.h>

#include "agent_fts.h"

#include <math.h>
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

// FTS5's bm25() (fts5_aux.c) with N and the average length given: the agent's, not the table's.
static void episodic_bm25(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *result, int count,
                          sqlite3_value **values) {
    const double k1 = 1.2, b = 0.75;
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
            double idf = log((rows - (double)hits + 0.5) / ((double)hits + 0.5));
            data->idf[i] = idf <= 0.0 ? 1e-6 : idf;
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
        double f = data->frequency[i];
        score += data->idf[i] * (f * (k1 + 1.0)) / (f + k1 * (1 - b + b * (double)length / average));
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

static void counter_delete(void *pointer) {
    Counter *counter = pointer;
    if (counter->tokenizer) counter->methods.xDelete(counter->tokenizer);
    sqlite3_free(counter);
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
    return sqlite3_create_function_v2(db, "episodic_lexical_length", 1,
                                      SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, counter, lexical_length,
                                      0, 0, counter_delete);
}
