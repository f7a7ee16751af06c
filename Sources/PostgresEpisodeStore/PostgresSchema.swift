import EpisodeStore
import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL store's schema history: the same named migrations as the SQLite store
/// (``SQLiteSchema/versions``), each with its inverse, recorded in `episodic_migrations` in the
/// store's own PostgreSQL schema. A store holding a migration this code does not know is newer and
/// is refused before anything is written.
///
/// Vector columns are not part of the migrations: they are added when a store is created (or a
/// column re-embedded) with the dimension the registry records, as `vector(n)` or `halfvec(n)`.
///
/// Citus: every primary key and unique constraint of `episodes` holds `agent_id` and there is no
/// foreign key, so `create_distributed_table('<schema>.episodes', 'agent_id')` can shard it (and
/// `agent_stats` likewise); the small registry tables become reference tables. Not tested here.
enum PostgresSchema {
    struct Migration: Sendable {
        var name: String
        /// SQL with `{s}` for the quoted schema name.
        var up: String
        var down: String
        /// Checked before `down` runs; a non-empty message refuses the downgrade.
        var downGuard: String? = nil
        /// Runs after `up`'s statements, in the same transaction (values only Swift computes).
        var backfill: (@Sendable (PostgresConnection, _ schema: String, Logger) async throws -> Void)? = nil
    }

    static let migrations: [Migration] = [
        Migration(
            name: "v1_initial_schema",
            up: """
                CREATE TABLE {s}.episodes (
                    id text PRIMARY KEY CHECK (length(id) > 0),
                    agent_id text NOT NULL CHECK (length(agent_id) > 0),
                    content text NOT NULL,
                    summary text,
                    metadata json NOT NULL DEFAULT '{}',
                    created_at timestamptz NOT NULL,
                    embedding_cached boolean NOT NULL DEFAULT false,
                    embedding_cached_at timestamptz
                );
                CREATE INDEX episodes_by_agent ON {s}.episodes (agent_id, created_at DESC, id DESC);
                CREATE TABLE {s}.vector_columns (
                    name text PRIMARY KEY,
                    role text NOT NULL CHECK (role IN ('fast', 'quality')),
                    dimension integer NOT NULL CHECK (dimension > 0),
                    model_id text NOT NULL,
                    model_sha256 text NOT NULL,
                    created_at timestamptz NOT NULL,
                    storage text NOT NULL DEFAULT 'vector' CHECK (storage IN ('vector', 'halfvec'))
                );
                CREATE TABLE {s}.store_meta (key text PRIMARY KEY, value text NOT NULL);
                """,
            down: """
                DROP TABLE {s}.store_meta;
                DROP TABLE {s}.vector_columns;
                DROP TABLE {s}.episodes;
                """),
        Migration(
            name: "v2_add_fastembed_vector_cache_tracking",
            up: """
                ALTER TABLE {s}.episodes ADD COLUMN fastembed_cached boolean NOT NULL DEFAULT false,
                    ADD COLUMN fastembed_cached_at timestamptz;
                """,
            down: """
                ALTER TABLE {s}.episodes DROP COLUMN fastembed_cached_at, DROP COLUMN fastembed_cached;
                """),
        Migration(
            name: "v3_add_lexical_index",
            up: """
                ALTER TABLE {s}.episodes ADD COLUMN lexical tsvector
                    GENERATED ALWAYS AS (to_tsvector('english', coalesce(summary, content))) STORED;
                CREATE INDEX episodes_lexical ON {s}.episodes USING gin (lexical);
                """,
            down: """
                DROP INDEX {s}.episodes_lexical;
                ALTER TABLE {s}.episodes DROP COLUMN lexical;
                """),
        Migration(
            name: "v4_episode_ids_per_agent",
            // Ids unique per agent (agent_id leads every key, as Citus needs), updated_at, the
            // staging columns of a re-embedding, a lexical index per agent (btree_gin puts the
            // agent in the GIN index), per-agent episode and token counts kept by triggers (the
            // search path and BM25's N and average length read them), and the store's marker.
            up: """
                CREATE EXTENSION IF NOT EXISTS btree_gin;
                ALTER TABLE {s}.episodes DROP CONSTRAINT episodes_pkey, ADD PRIMARY KEY (agent_id, id);
                ALTER TABLE {s}.episodes ADD COLUMN updated_at timestamptz;
                UPDATE {s}.episodes SET updated_at = created_at;
                ALTER TABLE {s}.episodes ALTER COLUMN updated_at SET NOT NULL;
                ALTER TABLE {s}.vector_columns ADD COLUMN replaces text;
                DROP INDEX {s}.episodes_lexical;
                CREATE INDEX episodes_lexical ON {s}.episodes USING gin (agent_id, lexical);
                CREATE TABLE {s}.agent_stats (
                    agent_id text PRIMARY KEY,
                    episodes bigint NOT NULL,
                    tokens bigint NOT NULL
                );
                CREATE FUNCTION {s}.token_count(v tsvector) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
                    SELECT coalesce(sum(coalesce(array_length(positions, 1), 1)), 0) FROM unnest(v)
                $$;
                INSERT INTO {s}.agent_stats (agent_id, episodes, tokens)
                    SELECT agent_id, count(*), coalesce(sum({s}.token_count(lexical)), 0) FROM {s}.episodes GROUP BY agent_id;
                CREATE FUNCTION {s}.track_agent_stats() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP IN ('DELETE', 'UPDATE') THEN
                        UPDATE {s}.agent_stats SET episodes = episodes - 1, tokens = tokens - {s}.token_count(OLD.lexical)
                        WHERE agent_id = OLD.agent_id;
                    END IF;
                    IF TG_OP IN ('INSERT', 'UPDATE') THEN
                        INSERT INTO {s}.agent_stats AS a (agent_id, episodes, tokens) VALUES (NEW.agent_id, 1, {s}.token_count(NEW.lexical))
                        ON CONFLICT (agent_id) DO UPDATE SET episodes = a.episodes + 1, tokens = a.tokens + excluded.tokens;
                    END IF;
                    RETURN NULL;
                END $$;
                CREATE TRIGGER episodes_agent_stats AFTER INSERT OR DELETE OR UPDATE OF content, summary ON {s}.episodes
                    FOR EACH ROW EXECUTE FUNCTION {s}.track_agent_stats();
                INSERT INTO {s}.store_meta (key, value) VALUES ('format', 'episodic-store'), ('columns_generation', '1')
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
                """,
            down: """
                DELETE FROM {s}.store_meta WHERE key IN ('format', 'columns_generation');
                DROP TRIGGER episodes_agent_stats ON {s}.episodes;
                DROP FUNCTION {s}.track_agent_stats();
                DROP TABLE {s}.agent_stats;
                DROP FUNCTION {s}.token_count(tsvector);
                DROP INDEX {s}.episodes_lexical;
                CREATE INDEX episodes_lexical ON {s}.episodes USING gin (lexical);
                ALTER TABLE {s}.vector_columns DROP COLUMN replaces;
                ALTER TABLE {s}.episodes DROP COLUMN updated_at;
                ALTER TABLE {s}.episodes DROP CONSTRAINT episodes_pkey, ADD PRIMARY KEY (id);
                """,
            downGuard: """
                SELECT CASE
                    WHEN EXISTS (SELECT 1 FROM {s}.vector_columns WHERE replaces IS NOT NULL)
                        THEN 'a re-embedding is in progress; finish or cancel it before downgrading'
                    WHEN EXISTS (SELECT id FROM {s}.episodes GROUP BY id HAVING count(*) > 1)
                        THEN 'some episode ids are used by more than one agent; before v4 ids were global — delete or rename them first'
                    ELSE '' END
                """),
        Migration(
            name: "v5_text_fingerprints",
            // The fingerprint of each episode's normalised content (`dedup` writes look it up per
            // agent), computed for existing rows by the same Swift function new writes use, and an
            // index for listings ordered by update time.
            up: """
                ALTER TABLE {s}.episodes ADD COLUMN text_hash bigint;
                CREATE INDEX episodes_by_agent_text_hash ON {s}.episodes (agent_id, text_hash);
                CREATE INDEX episodes_by_agent_updated ON {s}.episodes (agent_id, updated_at DESC, id DESC);
                """,
            down: """
                DROP INDEX {s}.episodes_by_agent_updated;
                DROP INDEX {s}.episodes_by_agent_text_hash;
                ALTER TABLE {s}.episodes DROP COLUMN text_hash;
                """,
            backfill: { connection, schema, logger in
                while true {
                    let rows = try await connection.query(
                        PostgresQuery(unsafeSQL: "SELECT agent_id, id, content FROM \(schema).episodes WHERE text_hash IS NULL LIMIT 5000"),
                        logger: logger
                    ).collect().map { try $0.decode((String, String, String).self) }
                    if rows.isEmpty { return }
                    var binds = PostgresBindings()
                    try binds.append(rows.map(\.0))
                    try binds.append(rows.map(\.1))
                    try binds.append(rows.map { TextFingerprint.fingerprint($0.2) })
                    try await connection.query(
                        PostgresQuery(
                            unsafeSQL: """
                                UPDATE \(schema).episodes e SET text_hash = v.h FROM unnest($1::text[], $2::text[], $3::bigint[]) AS v(a, i, h)
                                WHERE e.agent_id = v.a AND e.id = v.i
                                """, binds: binds), logger: logger)
                }
            }),
        Migration(
            name: "v6_api_keys",
            // API keys: the SHA-256 of each secret (never the secret), its scope, its lifetimes.
            // A small table: a Citus reference table.
            up: """
                CREATE TABLE {s}.api_keys (
                    id text PRIMARY KEY CHECK (length(id) > 0),
                    name text NOT NULL,
                    secret_sha256 bytea NOT NULL CHECK (length(secret_sha256) = 32),
                    scope jsonb NOT NULL,
                    created_at timestamptz NOT NULL,
                    last_used_at timestamptz,
                    expires_at timestamptz,
                    revoked_at timestamptz
                );
                """,
            down: """
                DROP TABLE {s}.api_keys;
                """),
        Migration(
            name: "v7_agent_scoped_lexical_index",
            // SQLite's v7 gives each agent its own full-text terms and BM25 statistics. Here the
            // statistics were per agent from v4 on (document frequencies are counted among the
            // agent's rows; agent_stats holds N and the token total) and the GIN index covers
            // (agent_id, lexical): the step changes nothing and keeps one history for both backends.
            up: "",
            down: ""),
        Migration(
            name: "v8_lexical_versions",
            // SQLite's v8 versions each agent's indexed text so that a process can rank from a
            // copy of the agent's postings in memory; here the ranking reads the server's index
            // (and BM25 over its matches) and needs no version: one history for both backends.
            up: "",
            down: ""),
    ]

    static var versions: [String] { migrations.map(\.name) }
    static var latest: String { versions.last! }

    /// The statements of a template for `schema` (the quoted schema name), one per element: the
    /// extended query protocol runs one statement at a time. A statement ends with `;` at the end
    /// of a line outside a `$$` body.
    static func statements(_ template: String, schema: String) -> [String] {
        var statements: [String] = [], current = "", inBody = false
        for line in template.replacingOccurrences(of: "{s}", with: schema).split(separator: "\n", omittingEmptySubsequences: false) {
            current += line + "\n"
            if line.components(separatedBy: "$$").count % 2 == 0 { inBody.toggle() }
            if !inBody, line.trimmingCharacters(in: .whitespaces).hasSuffix(";") {
                statements.append(current.trimmingCharacters(in: .whitespacesAndNewlines))
                current = ""
            }
        }
        let rest = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !rest.isEmpty { statements.append(rest) }
        return statements
    }
}
