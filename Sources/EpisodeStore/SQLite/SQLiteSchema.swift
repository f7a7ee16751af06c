import Foundation
import GRDB

/// The store's schema history: named, ordered migrations, each with its inverse so that a
/// database can be taken back to a named earlier version (`episodic migrate --to NAME`).
///
/// Applied migrations are recorded by GRDB's `DatabaseMigrator` in `grdb_migrations`; a database
/// holding a migration this code does not know is newer than the code and is refused untouched.
public enum SQLiteSchema {
    struct Migration: Sendable {
        var name: String
        var up: @Sendable (Database) throws -> Void
        var down: @Sendable (Database) throws -> Void
    }

    /// Migration names, oldest first.
    public static var versions: [String] { migrations.map(\.name) }
    /// The newest migration.
    public static var latest: String { versions.last! }

    static let migrations: [Migration] = [
        Migration(
            name: "v1_initial_schema",
            up: { db in
                // Episodes with the quality-vector cache flag; the registry of vector columns; one row
                // per (episode, column) vector; and a log of vector changes that lets every process
                // keep its in-memory index in step with writes made by the others.
                try db.execute(
                    sql: """
                        CREATE TABLE episodes (
                            id TEXT PRIMARY KEY NOT NULL CHECK (length(id) > 0),
                            agent_id TEXT NOT NULL CHECK (length(agent_id) > 0),
                            content TEXT NOT NULL,
                            summary TEXT,
                            metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata) AND json_type(metadata) = 'object'),
                            created_at DATETIME NOT NULL,
                            embedding_cached BOOLEAN NOT NULL DEFAULT 0,
                            embedding_cached_at DATETIME
                        );
                        CREATE INDEX episodes_by_agent ON episodes(agent_id, created_at DESC, id DESC);

                        CREATE TABLE vector_columns (
                            name TEXT PRIMARY KEY NOT NULL,
                            role TEXT NOT NULL CHECK (role IN ('fast', 'quality')),
                            dimension INTEGER NOT NULL CHECK (dimension > 0),
                            model_id TEXT NOT NULL,
                            model_sha256 TEXT NOT NULL,
                            created_at DATETIME NOT NULL
                        );

                        CREATE TABLE episode_vectors (
                            episode_id TEXT NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
                            column_name TEXT NOT NULL REFERENCES vector_columns(name),
                            vector BLOB NOT NULL,
                            PRIMARY KEY (episode_id, column_name)
                        ) WITHOUT ROWID;
                        CREATE INDEX episode_vectors_by_column ON episode_vectors(column_name);

                        CREATE TABLE vector_changes (
                            seq INTEGER PRIMARY KEY AUTOINCREMENT,
                            episode_id TEXT NOT NULL,
                            column_name TEXT NOT NULL
                        );
                        -- Key/value facts about the store (e.g. how far the change log was pruned).
                        CREATE TABLE store_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                        """)
                try db.execute(sql: v1VectorTriggers)
            },
            down: { db in
                try db.execute(
                    sql: """
                        DROP TABLE store_meta;
                        DROP TABLE vector_changes;
                        DROP TABLE episode_vectors;
                        DROP TABLE vector_columns;
                        DROP TABLE episodes;
                        """)
            }),
        Migration(
            name: "v2_add_fastembed_vector_cache_tracking",
            up: { db in
                // Existing rows get false / NULL, as the original alembic migration did.
                try db.execute(
                    sql: """
                        ALTER TABLE episodes ADD COLUMN fastembed_cached BOOLEAN NOT NULL DEFAULT 0;
                        ALTER TABLE episodes ADD COLUMN fastembed_cached_at DATETIME;
                        """)
            },
            down: { db in
                try db.execute(
                    sql: """
                        ALTER TABLE episodes DROP COLUMN fastembed_cached_at;
                        ALTER TABLE episodes DROP COLUMN fastembed_cached;
                        """)
            }),
        Migration(
            name: "v3_add_lexical_index",
            up: { db in
                try createV3LexicalIndex(db)
            },
            down: { db in
                try dropLexicalIndex(db)
                try db.execute(sql: "DROP TABLE episode_lexical_rows")
            }),
        Migration(
            name: "v4_episode_ids_per_agent",
            up: { db in
                // Episode ids become unique per agent (one agent can neither see nor take another's
                // ids), every key carries agent_id, and the full-text index gets an indexed token per
                // agent (`ag<n>`, from the `agents` table) so that a lexical search matches only that
                // agent's rows instead of every agent's before a filter. Also: updated_at, the
                // staging columns of a re-embedding, and the marker that tells an episode store from
                // other SQLite files. Rows are copied; the change log continues (processes that were
                // following it reload their indexes, see `pruned_through`).
                try db.execute(
                    sql: """
                        DROP TRIGGER episodes_lexical_update;
                        DROP TRIGGER episodes_lexical_delete;
                        DROP TRIGGER episodes_lexical_insert;
                        DROP TABLE episode_lexical_rows;
                        DROP TABLE episodes_fts;
                        DROP TRIGGER episodes_log_agent_change;
                        DROP TRIGGER episode_vectors_log_insert;
                        DROP TRIGGER episode_vectors_log_update;
                        DROP TRIGGER episode_vectors_log_delete;
                        DROP TRIGGER episode_vectors_dimension_insert;
                        DROP TRIGGER episode_vectors_dimension_update;
                        DROP INDEX episodes_by_agent;
                        DROP INDEX episode_vectors_by_column;
                        ALTER TABLE episode_vectors RENAME TO episode_vectors_v3;
                        ALTER TABLE episodes RENAME TO episodes_v3;

                        CREATE TABLE agents (
                            agent_seq INTEGER PRIMARY KEY,
                            agent_id TEXT NOT NULL UNIQUE CHECK (length(agent_id) > 0)
                        );
                        CREATE TABLE episodes (
                            seq INTEGER PRIMARY KEY,
                            agent_id TEXT NOT NULL CHECK (length(agent_id) > 0),
                            id TEXT NOT NULL CHECK (length(id) > 0),
                            content TEXT NOT NULL,
                            summary TEXT,
                            metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata) AND json_type(metadata) = 'object'),
                            created_at TEXT NOT NULL,
                            updated_at TEXT NOT NULL,
                            embedding_cached BOOLEAN NOT NULL DEFAULT 0,
                            embedding_cached_at TEXT,
                            fastembed_cached BOOLEAN NOT NULL DEFAULT 0,
                            fastembed_cached_at TEXT,
                            UNIQUE (agent_id, id)
                        );
                        CREATE INDEX episodes_by_agent_created ON episodes(agent_id, created_at DESC, id DESC);
                        CREATE TABLE episode_vectors (
                            agent_id TEXT NOT NULL,
                            episode_id TEXT NOT NULL,
                            column_name TEXT NOT NULL REFERENCES vector_columns(name),
                            vector BLOB NOT NULL,
                            PRIMARY KEY (agent_id, episode_id, column_name),
                            FOREIGN KEY (agent_id, episode_id) REFERENCES episodes(agent_id, id) ON DELETE CASCADE
                        ) WITHOUT ROWID;

                        INSERT INTO agents(agent_id) SELECT DISTINCT agent_id FROM episodes_v3 ORDER BY agent_id;
                        INSERT INTO episodes(agent_id, id, content, summary, metadata, created_at, updated_at, embedding_cached,
                                             embedding_cached_at, fastembed_cached, fastembed_cached_at)
                        SELECT agent_id, id, content, summary, metadata, created_at, created_at, embedding_cached,
                               embedding_cached_at, fastembed_cached, fastembed_cached_at
                        FROM episodes_v3 ORDER BY created_at, id;
                        INSERT INTO episode_vectors(agent_id, episode_id, column_name, vector)
                        SELECT e.agent_id, v.episode_id, v.column_name, v.vector
                        FROM episode_vectors_v3 v JOIN episodes_v3 e ON e.id = v.episode_id;
                        DROP TABLE episode_vectors_v3;
                        DROP TABLE episodes_v3;

                        ALTER TABLE vector_columns ADD COLUMN replaces TEXT;
                        ALTER TABLE vector_changes ADD COLUMN agent_id TEXT;
                        INSERT OR REPLACE INTO store_meta(key, value)
                        SELECT 'pruned_through', CAST(COALESCE(MAX(seq), 0) AS TEXT) FROM vector_changes;
                        INSERT OR REPLACE INTO store_meta(key, value) VALUES ('format', 'episodic-store');
                        INSERT OR REPLACE INTO store_meta(key, value) VALUES ('columns_generation', '1');
                        """)
                try createV4Triggers(db)
            },
            down: { db in
                let clashes =
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM (SELECT id FROM episodes GROUP BY id HAVING count(*) > 1)") ?? 0
                if clashes > 0 {
                    throw StoreError.invalidEpisode(
                        id: "",
                        reason:
                            "\(clashes) episode ids are used by more than one agent; before v4 ids were global — delete or rename them first"
                    )
                }
                if try Int.fetchOne(db, sql: "SELECT count(*) FROM vector_columns WHERE replaces IS NOT NULL") ?? 0 > 0 {
                    throw StoreError.reembedding(
                        column: "", reason: "a re-embedding is in progress; finish or cancel it before downgrading")
                }
                try db.execute(
                    sql: """
                        DROP TRIGGER episodes_lexical_insert;
                        DROP TRIGGER episodes_lexical_delete;
                        DROP TRIGGER episodes_lexical_update;
                        DROP TRIGGER episode_vectors_log_insert;
                        DROP TRIGGER episode_vectors_log_update;
                        DROP TRIGGER episode_vectors_log_delete;
                        DROP TRIGGER episode_vectors_dimension_insert;
                        DROP TRIGGER episode_vectors_dimension_update;
                        DROP TRIGGER episodes_no_agent_change;
                        DROP TABLE episodes_fts;
                        ALTER TABLE episode_vectors RENAME TO episode_vectors_v4;
                        ALTER TABLE episodes RENAME TO episodes_v4;
                        CREATE TABLE episodes (
                            id TEXT PRIMARY KEY NOT NULL CHECK (length(id) > 0),
                            agent_id TEXT NOT NULL CHECK (length(agent_id) > 0),
                            content TEXT NOT NULL,
                            summary TEXT,
                            metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata) AND json_type(metadata) = 'object'),
                            created_at DATETIME NOT NULL,
                            embedding_cached BOOLEAN NOT NULL DEFAULT 0,
                            embedding_cached_at DATETIME,
                            fastembed_cached BOOLEAN NOT NULL DEFAULT 0,
                            fastembed_cached_at DATETIME
                        );
                        CREATE INDEX episodes_by_agent ON episodes(agent_id, created_at DESC, id DESC);
                        CREATE TABLE episode_vectors (
                            episode_id TEXT NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
                            column_name TEXT NOT NULL REFERENCES vector_columns(name),
                            vector BLOB NOT NULL,
                            PRIMARY KEY (episode_id, column_name)
                        ) WITHOUT ROWID;
                        CREATE INDEX episode_vectors_by_column ON episode_vectors(column_name);
                        INSERT INTO episodes(id, agent_id, content, summary, metadata, created_at, embedding_cached, embedding_cached_at,
                                             fastembed_cached, fastembed_cached_at)
                        SELECT id, agent_id, content, summary, metadata, created_at, embedding_cached, embedding_cached_at,
                               fastembed_cached, fastembed_cached_at FROM episodes_v4;
                        INSERT INTO episode_vectors(episode_id, column_name, vector) SELECT episode_id, column_name, vector FROM episode_vectors_v4;
                        DROP TABLE episode_vectors_v4;
                        DROP TABLE episodes_v4;
                        DROP TABLE agents;
                        ALTER TABLE vector_columns DROP COLUMN replaces;
                        ALTER TABLE vector_changes DROP COLUMN agent_id;
                        DELETE FROM store_meta WHERE key IN ('format', 'columns_generation');
                        INSERT OR REPLACE INTO store_meta(key, value)
                        SELECT 'pruned_through', CAST(COALESCE(MAX(seq), 0) AS TEXT) FROM vector_changes;
                        """)
                try db.execute(sql: v1VectorTriggers)
                try createV3LexicalIndex(db)
            }),
        Migration(
            name: "v5_text_fingerprints",
            up: { db in
                // The fingerprint of each episode's normalised content (`dedup` writes look it up
                // per agent) and an index for listings ordered by update time. Existing rows get
                // their fingerprint computed here, by the same Swift function new writes use.
                // Registered on this connection for good: removing a function SQLite still holds a
                // reference to crashes it.
                db.add(function: fingerprintFunction())
                try db.execute(
                    sql: """
                        ALTER TABLE episodes ADD COLUMN text_hash INTEGER;
                        UPDATE episodes SET text_hash = episodic_text_fingerprint(content);
                        CREATE INDEX episodes_by_agent_text_hash ON episodes(agent_id, text_hash);
                        CREATE INDEX episodes_by_agent_updated ON episodes(agent_id, updated_at DESC, id DESC);
                        """)
            },
            down: { db in
                try db.execute(
                    sql: """
                        DROP INDEX episodes_by_agent_updated;
                        DROP INDEX episodes_by_agent_text_hash;
                        ALTER TABLE episodes DROP COLUMN text_hash;
                        """)
            }),
        Migration(
            name: "v6_api_keys",
            up: { db in
                // API keys: the SHA-256 of each secret (never the secret), its scope as JSON, and
                // its lifetimes.
                try db.execute(
                    sql: """
                        CREATE TABLE api_keys (
                            id TEXT PRIMARY KEY NOT NULL CHECK (length(id) > 0),
                            name TEXT NOT NULL,
                            secret_sha256 BLOB NOT NULL CHECK (length(secret_sha256) = 32),
                            scope TEXT NOT NULL CHECK (json_valid(scope)),
                            created_at TEXT NOT NULL,
                            last_used_at TEXT,
                            expires_at TEXT,
                            revoked_at TEXT
                        );
                        """)
            },
            down: { db in try db.execute(sql: "DROP TABLE api_keys") }),
        Migration(
            name: "v7_agent_scoped_lexical_index",
            up: { db in
                // Each agent gets its own terms in the full-text index, so that a query reads that
                // agent's posting lists only (v4's agent token still made every query term read every
                // agent's rows), and each agent's episode and token counts, which the ranking uses as
                // BM25's N and average length: an agent's ranking no longer depends on other agents.
                try dropLexicalIndex(db)
                try db.execute(
                    sql: """
                        ALTER TABLE agents ADD COLUMN episode_count INTEGER NOT NULL DEFAULT 0;
                        ALTER TABLE agents ADD COLUMN lexical_tokens INTEGER NOT NULL DEFAULT 0;
                        """)
                try createV7LexicalIndex(db)
            },
            down: { db in
                try dropLexicalIndex(db)
                try db.execute(
                    sql: """
                        ALTER TABLE agents DROP COLUMN lexical_tokens;
                        ALTER TABLE agents DROP COLUMN episode_count;
                        """)
                try createV4LexicalIndex(db)
            }),
        Migration(
            name: "v8_lexical_versions",
            up: { db in
                // A version per agent, changed in the transaction of every change to the agent's
                // indexed text, lets a process keep the agent's postings in memory and know
                // exactly when they are stale; the vocabulary table reads them from the index.
                try dropLexicalTriggers(db)
                try db.execute(
                    sql: """
                        ALTER TABLE agents ADD COLUMN lexical_version INTEGER NOT NULL DEFAULT 0;
                        UPDATE agents SET lexical_version = random();
                        CREATE VIRTUAL TABLE episodes_fts_instances USING fts5vocab(episodes_fts, instance);
                        """)
                try createV7LexicalTriggers(db, versioned: true)
            },
            down: { db in
                try dropLexicalTriggers(db)
                try db.execute(
                    sql: """
                        DROP TABLE episodes_fts_instances;
                        ALTER TABLE agents DROP COLUMN lexical_version;
                        """)
                try createV7LexicalTriggers(db, versioned: false)
            }),
    ]

    /// Drops the full-text index and its three triggers (the same names in the v3, v4 and v7
    /// layouts; v3's row map is dropped by its own migration).
    static func dropLexicalIndex(_ db: Database) throws {
        try dropLexicalTriggers(db)
        try db.execute(sql: "DROP TABLE episodes_fts")
    }

    /// The v7 full-text index. Its text starts with the agent's marker `ag<agent_seq>` and the
    /// unit separator; the `episodic_agent` tokenizer (``AgentLexicalIndex``) prefixes every token
    /// with the agent's number, so agents share no terms. The triggers keep each agent's episode
    /// and token counts (``AgentLexicalIndex`` counts tokens as the index does) in the same
    /// transaction as the row.
    static func createV7LexicalIndex(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE VIRTUAL TABLE episodes_fts USING fts5(
                    text, tokenize = 'episodic_agent porter unicode61 remove_diacritics 2'
                );
                """)
        try createV7LexicalTriggers(db, versioned: false)
        try db.execute(
            sql: """
                UPDATE agents SET
                    episode_count = (SELECT count(*) FROM episodes e WHERE e.agent_id = agents.agent_id),
                    lexical_tokens = (SELECT COALESCE(sum(episodic_lexical_length(COALESCE(e.summary, e.content))), 0)
                                      FROM episodes e WHERE e.agent_id = agents.agent_id);
                INSERT INTO episodes_fts(rowid, text)
                SELECT e.seq, 'ag' || a.agent_seq || char(31) || COALESCE(e.summary, e.content)
                FROM episodes e JOIN agents a ON a.agent_id = e.agent_id;
                """)
    }

    /// The three triggers that keep the v7 index and the agents' counts in step with the
    /// episodes. `versioned` (v8): each also changes the agent's `lexical_version`, which tells a
    /// process's in-memory copy of the agent's postings (``LexicalMemoryIndex``) that it is stale.
    static func createV7LexicalTriggers(_ db: Database, versioned: Bool) throws {
        // A random value rather than a count: an agent deleted and created again (its number
        // reused), or the migration undone and redone, never shows a version seen before.
        let bump = versioned ? ", lexical_version = random()" : ""
        try db.execute(
            sql: """
                CREATE TRIGGER episodes_lexical_insert AFTER INSERT ON episodes
                BEGIN
                    INSERT OR IGNORE INTO agents(agent_id) VALUES (NEW.agent_id);
                    UPDATE agents SET episode_count = episode_count + 1,
                        lexical_tokens = lexical_tokens + episodic_lexical_length(COALESCE(NEW.summary, NEW.content))\(bump)
                    WHERE agent_id = NEW.agent_id;
                    INSERT INTO episodes_fts(rowid, text)
                    VALUES (NEW.seq, (SELECT 'ag' || agent_seq || char(31) FROM agents WHERE agent_id = NEW.agent_id)
                                     || COALESCE(NEW.summary, NEW.content));
                END;
                CREATE TRIGGER episodes_lexical_delete AFTER DELETE ON episodes
                BEGIN
                    UPDATE agents SET episode_count = episode_count - 1,
                        lexical_tokens = lexical_tokens - episodic_lexical_length(COALESCE(OLD.summary, OLD.content))\(bump)
                    WHERE agent_id = OLD.agent_id;
                    DELETE FROM episodes_fts WHERE rowid = OLD.seq;
                END;
                CREATE TRIGGER episodes_lexical_update AFTER UPDATE OF content, summary ON episodes
                BEGIN
                    UPDATE agents SET lexical_tokens = lexical_tokens
                        - episodic_lexical_length(COALESCE(OLD.summary, OLD.content))
                        + episodic_lexical_length(COALESCE(NEW.summary, NEW.content))\(bump)
                    WHERE agent_id = NEW.agent_id;
                    UPDATE episodes_fts
                    SET text = (SELECT 'ag' || agent_seq || char(31) FROM agents WHERE agent_id = NEW.agent_id)
                               || COALESCE(NEW.summary, NEW.content)
                    WHERE rowid = NEW.seq;
                END;
                """)
    }

    /// Drops the three lexical triggers (the same names in every layout).
    static func dropLexicalTriggers(_ db: Database) throws {
        try db.execute(
            sql: """
                DROP TRIGGER episodes_lexical_insert;
                DROP TRIGGER episodes_lexical_delete;
                DROP TRIGGER episodes_lexical_update;
                """)
    }

    /// ``TextFingerprint/fingerprint(_:)`` as an SQL function, for the v5 backfill.
    static func fingerprintFunction() -> DatabaseFunction {
        DatabaseFunction("episodic_text_fingerprint", argumentCount: 1, pure: true) { values in
            guard case .string(let text) = values[0].storage else { return nil }
            return TextFingerprint.fingerprint(text)
        }
    }

    /// The v1 triggers: dimensions checked for any writer (4 bytes per float32), and every vector
    /// change logged for the processes that follow the log. Also what a downgrade below v4 restores.
    static let v1VectorTriggers = """
            -- Dimensions are enforced here too, for any writer: 4 bytes per float32.
            CREATE TRIGGER episode_vectors_dimension_insert BEFORE INSERT ON episode_vectors
            WHEN length(NEW.vector) != 4 * (SELECT dimension FROM vector_columns WHERE name = NEW.column_name)
            BEGIN SELECT RAISE(ABORT, 'vector length does not match the dimension of its column'); END;
            CREATE TRIGGER episode_vectors_dimension_update BEFORE UPDATE ON episode_vectors
            WHEN length(NEW.vector) != 4 * (SELECT dimension FROM vector_columns WHERE name = NEW.column_name)
            BEGIN SELECT RAISE(ABORT, 'vector length does not match the dimension of its column'); END;
            CREATE TRIGGER episode_vectors_log_insert AFTER INSERT ON episode_vectors
            BEGIN INSERT INTO vector_changes(episode_id, column_name) VALUES (NEW.episode_id, NEW.column_name); END;
            CREATE TRIGGER episode_vectors_log_update AFTER UPDATE ON episode_vectors
            BEGIN
                INSERT INTO vector_changes(episode_id, column_name) VALUES (OLD.episode_id, OLD.column_name);
                INSERT INTO vector_changes(episode_id, column_name) VALUES (NEW.episode_id, NEW.column_name);
            END;
            CREATE TRIGGER episode_vectors_log_delete AFTER DELETE ON episode_vectors
            BEGIN INSERT INTO vector_changes(episode_id, column_name) VALUES (OLD.episode_id, OLD.column_name); END;
            CREATE TRIGGER episodes_log_agent_change AFTER UPDATE OF agent_id ON episodes
            BEGIN
                INSERT INTO vector_changes(episode_id, column_name)
                SELECT episode_id, column_name FROM episode_vectors WHERE episode_id = NEW.id;
            END;
        """

    /// The v3 lexical index: FTS5 over each episode's embedded text (summary, else content),
    /// written by triggers in the same transaction as the row. FTS rows are linked to episodes
    /// through their own table, not the episodes' rowid, which VACUUM may renumber.
    static func createV3LexicalIndex(_ db: Database) throws {
        // FTS5 over each episode's embedded text (summary, else content), written by triggers
        // in the same transaction as the row. FTS rows are linked to episodes through their
        // own table, not the episodes' rowid, which VACUUM may renumber.
        try db.execute(
            sql: """
                CREATE VIRTUAL TABLE episodes_fts USING fts5(
                    episode_id UNINDEXED, agent_id UNINDEXED, text,
                    tokenize = 'porter unicode61 remove_diacritics 2'
                );
                CREATE TABLE episode_lexical_rows (
                    episode_id TEXT PRIMARY KEY NOT NULL,
                    fts_rowid INTEGER NOT NULL UNIQUE
                ) WITHOUT ROWID;
                CREATE TRIGGER episodes_lexical_insert AFTER INSERT ON episodes
                BEGIN
                    INSERT INTO episode_lexical_rows(episode_id, fts_rowid)
                    VALUES (NEW.id, (SELECT COALESCE(MAX(fts_rowid), 0) + 1 FROM episode_lexical_rows));
                    INSERT INTO episodes_fts(rowid, episode_id, agent_id, text)
                    VALUES ((SELECT fts_rowid FROM episode_lexical_rows WHERE episode_id = NEW.id),
                            NEW.id, NEW.agent_id, COALESCE(NEW.summary, NEW.content));
                END;
                CREATE TRIGGER episodes_lexical_delete AFTER DELETE ON episodes
                BEGIN
                    DELETE FROM episodes_fts WHERE rowid = (SELECT fts_rowid FROM episode_lexical_rows WHERE episode_id = OLD.id);
                    DELETE FROM episode_lexical_rows WHERE episode_id = OLD.id;
                END;
                CREATE TRIGGER episodes_lexical_update AFTER UPDATE OF agent_id, content, summary ON episodes
                BEGIN
                    UPDATE episodes_fts SET agent_id = NEW.agent_id, text = COALESCE(NEW.summary, NEW.content)
                    WHERE rowid = (SELECT fts_rowid FROM episode_lexical_rows WHERE episode_id = NEW.id);
                END;
                INSERT INTO episode_lexical_rows(episode_id, fts_rowid)
                SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id) FROM episodes;
                INSERT INTO episodes_fts(rowid, episode_id, agent_id, text)
                SELECT r.fts_rowid, e.id, e.agent_id, COALESCE(e.summary, e.content)
                FROM episodes e JOIN episode_lexical_rows r ON r.episode_id = e.id;
                """)
    }

    /// The v4 triggers: dimension checks, the change log, and the full-text index (written in the
    /// same transaction as the row, by any writer).
    static func createV4Triggers(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TRIGGER episode_vectors_dimension_insert BEFORE INSERT ON episode_vectors
                WHEN length(NEW.vector) != 4 * (SELECT dimension FROM vector_columns WHERE name = NEW.column_name)
                BEGIN SELECT RAISE(ABORT, 'vector length does not match the dimension of its column'); END;
                CREATE TRIGGER episode_vectors_dimension_update BEFORE UPDATE ON episode_vectors
                WHEN length(NEW.vector) != 4 * (SELECT dimension FROM vector_columns WHERE name = NEW.column_name)
                BEGIN SELECT RAISE(ABORT, 'vector length does not match the dimension of its column'); END;
                CREATE TRIGGER episode_vectors_log_insert AFTER INSERT ON episode_vectors
                BEGIN INSERT INTO vector_changes(agent_id, episode_id, column_name) VALUES (NEW.agent_id, NEW.episode_id, NEW.column_name); END;
                CREATE TRIGGER episode_vectors_log_update AFTER UPDATE ON episode_vectors
                BEGIN
                    INSERT INTO vector_changes(agent_id, episode_id, column_name) VALUES (OLD.agent_id, OLD.episode_id, OLD.column_name);
                    INSERT INTO vector_changes(agent_id, episode_id, column_name) VALUES (NEW.agent_id, NEW.episode_id, NEW.column_name);
                END;
                CREATE TRIGGER episode_vectors_log_delete AFTER DELETE ON episode_vectors
                BEGIN INSERT INTO vector_changes(agent_id, episode_id, column_name) VALUES (OLD.agent_id, OLD.episode_id, OLD.column_name); END;
                CREATE TRIGGER episodes_no_agent_change BEFORE UPDATE OF agent_id, id ON episodes
                WHEN NEW.agent_id IS NOT OLD.agent_id OR NEW.id IS NOT OLD.id
                BEGIN SELECT RAISE(ABORT, 'an episode keeps its agent and id; add a new episode instead'); END;
                """)
        try createV4LexicalIndex(db)
    }

    /// The v4 full-text index: one indexed token per agent (`ag<n>`) beside the text, so a query can
    /// require the agent; the terms themselves are shared by all agents. Also what a downgrade below
    /// v7 restores.
    static func createV4LexicalIndex(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE VIRTUAL TABLE episodes_fts USING fts5(
                    agent_key, text,
                    tokenize = 'porter unicode61 remove_diacritics 2'
                );
                -- The agent token must not count towards BM25: weight 0 for its column.
                INSERT INTO episodes_fts(episodes_fts, rank) VALUES ('rank', 'bm25(0.0, 1.0)');
                CREATE TRIGGER episodes_lexical_insert AFTER INSERT ON episodes
                BEGIN
                    INSERT OR IGNORE INTO agents(agent_id) VALUES (NEW.agent_id);
                    INSERT INTO episodes_fts(rowid, agent_key, text)
                    VALUES (NEW.seq, (SELECT 'ag' || agent_seq FROM agents WHERE agent_id = NEW.agent_id),
                            COALESCE(NEW.summary, NEW.content));
                END;
                CREATE TRIGGER episodes_lexical_delete AFTER DELETE ON episodes
                BEGIN DELETE FROM episodes_fts WHERE rowid = OLD.seq; END;
                CREATE TRIGGER episodes_lexical_update AFTER UPDATE OF content, summary ON episodes
                BEGIN UPDATE episodes_fts SET text = COALESCE(NEW.summary, NEW.content) WHERE rowid = NEW.seq; END;
                INSERT INTO episodes_fts(rowid, agent_key, text)
                SELECT e.seq, 'ag' || a.agent_seq, COALESCE(e.summary, e.content)
                FROM episodes e JOIN agents a ON a.agent_id = e.agent_id;
                """)
    }

    /// A migrator with every migration.
    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in migrations {
            migrator.registerMigration(migration.name, migrate: migration.up)
        }
        return migrator
    }

    /// Migrations recorded in the database, in order of application.
    static func applied(_ db: Database) throws -> [String] {
        guard try db.tableExists("grdb_migrations") else { return [] }
        return try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
    }

    /// What a database file holds, read without writing anything.
    enum Contents: Equatable {
        /// No tables: a new (or empty) file.
        case empty
        /// An episode store with these migrations applied.
        case episodeStore(applied: [String])
        /// Tables of another program.
        case foreign
    }

    static func contents(_ db: Database) throws -> Contents {
        let tables = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view')") ?? 0
        if tables == 0 { return .empty }
        // An episode store has both GRDB's migration table with our first migration, and store_meta.
        guard try db.tableExists("grdb_migrations"), try db.tableExists("store_meta") else { return .foreign }
        let applied = try applied(db)
        guard applied.first == versions.first else { return .foreign }
        return .episodeStore(applied: applied)
    }

    /// Throws ``StoreError/schemaTooNew(unknownMigrations:)`` if the database holds a migration this
    /// code does not know.
    static func checkNotNewer(_ applied: [String]) throws {
        let unknown = applied.filter { !versions.contains($0) }
        if !unknown.isEmpty { throw StoreError.schemaTooNew(unknownMigrations: unknown) }
    }

    /// Takes the database down to `target` (which stays applied): the inverse of every later
    /// migration, newest first, in one transaction.
    static func downgrade(_ writer: some DatabaseWriter, to target: String) throws {
        guard let index = versions.firstIndex(of: target) else {
            throw StoreError.unknownMigration(target, known: versions)
        }
        try writer.writeWithoutTransaction { db in
            try checkNotNewer(try applied(db))
            // Dropping columns rebuilds tables: foreign keys are checked once, after the transaction.
            try db.execute(sql: "PRAGMA foreign_keys = OFF")
            defer { try? db.execute(sql: "PRAGMA foreign_keys = ON") }
            try db.inTransaction {
                let applied = Set(try applied(db))
                for migration in migrations[(index + 1)...].reversed() where applied.contains(migration.name) {
                    try migration.down(db)
                    try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = ?", arguments: [migration.name])
                }
                if let violation = try Row.fetchOne(db, sql: "PRAGMA foreign_key_check") {
                    throw DatabaseError(
                        resultCode: .SQLITE_CONSTRAINT_FOREIGNKEY,
                        message: "foreign key violation after downgrade: \(violation)")
                }
                return .commit
            }
        }
    }

    /// Brings the database to `target`, upgrading or downgrading as needed.
    static func migrate(_ writer: some DatabaseWriter, to target: String) throws {
        guard let targetIndex = versions.firstIndex(of: target) else { throw StoreError.unknownMigration(target, known: versions) }
        let applied = try writer.read { db in try self.applied(db) }
        try checkNotNewer(applied)
        let appliedIndex = applied.compactMap { versions.firstIndex(of: $0) }.max() ?? -1
        if appliedIndex > targetIndex {
            try downgrade(writer, to: target)
        } else if appliedIndex < targetIndex {
            try migrator().migrate(writer, upTo: target)
        }
    }
}
