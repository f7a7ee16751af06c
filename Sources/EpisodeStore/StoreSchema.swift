import Foundation
import GRDB

/// The store's schema history: named, ordered migrations, each with its inverse so that a
/// database can be taken back to a named earlier version (`episodic migrate --to NAME`).
///
/// Applied migrations are recorded by GRDB's `DatabaseMigrator` in `grdb_migrations`; a database
/// holding a migration this code does not know is newer than the code and is refused untouched.
public enum StoreSchema {
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
        Migration(name: "v1_initial_schema", up: { db in
            // Episodes with the quality-vector cache flag; the registry of vector columns; one row
            // per (episode, column) vector; and a log of vector changes that lets every process
            // keep its in-memory index in step with writes made by the others.
            try db.execute(sql: """
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

                -- Dimensions are enforced here too, for any writer: 4 bytes per float32.
                CREATE TRIGGER episode_vectors_dimension_insert BEFORE INSERT ON episode_vectors
                WHEN length(NEW.vector) != 4 * (SELECT dimension FROM vector_columns WHERE name = NEW.column_name)
                BEGIN SELECT RAISE(ABORT, 'vector length does not match the dimension of its column'); END;
                CREATE TRIGGER episode_vectors_dimension_update BEFORE UPDATE ON episode_vectors
                WHEN length(NEW.vector) != 4 * (SELECT dimension FROM vector_columns WHERE name = NEW.column_name)
                BEGIN SELECT RAISE(ABORT, 'vector length does not match the dimension of its column'); END;

                CREATE TABLE vector_changes (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    episode_id TEXT NOT NULL,
                    column_name TEXT NOT NULL
                );
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

                -- Key/value facts about the store (e.g. how far the change log was pruned).
                CREATE TABLE store_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                """)
        }, down: { db in
            try db.execute(sql: """
                DROP TABLE store_meta;
                DROP TABLE vector_changes;
                DROP TABLE episode_vectors;
                DROP TABLE vector_columns;
                DROP TABLE episodes;
                """)
        }),
        Migration(name: "v2_add_fastembed_vector_cache_tracking", up: { db in
            // Existing rows get false / NULL, as the original alembic migration did.
            try db.execute(sql: """
                ALTER TABLE episodes ADD COLUMN fastembed_cached BOOLEAN NOT NULL DEFAULT 0;
                ALTER TABLE episodes ADD COLUMN fastembed_cached_at DATETIME;
                """)
        }, down: { db in
            try db.execute(sql: """
                ALTER TABLE episodes DROP COLUMN fastembed_cached_at;
                ALTER TABLE episodes DROP COLUMN fastembed_cached;
                """)
        }),
        Migration(name: "v3_add_lexical_index", up: { db in
            // FTS5 over each episode's embedded text (summary, else content), written by triggers
            // in the same transaction as the row. FTS rows are linked to episodes through their
            // own table, not the episodes' rowid, which VACUUM may renumber.
            try db.execute(sql: """
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
        }, down: { db in
            try db.execute(sql: """
                DROP TRIGGER episodes_lexical_update;
                DROP TRIGGER episodes_lexical_delete;
                DROP TRIGGER episodes_lexical_insert;
                DROP TABLE episode_lexical_rows;
                DROP TABLE episodes_fts;
                """)
        }),
    ]

    /// A migrator with every migration, or those up to and including `target`.
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

    /// Throws ``StoreError/schemaTooNew(unknownMigrations:)`` if the database holds a migration this
    /// code does not know.
    static func checkNotNewer(_ db: Database) throws {
        let unknown = try applied(db).filter { !versions.contains($0) }
        if !unknown.isEmpty { throw StoreError.schemaTooNew(unknownMigrations: unknown) }
    }

    /// Brings the database at `path` to `target` (default: the latest migration), upgrading or
    /// downgrading as needed; returns the migrations applied afterwards. A database newer than
    /// this code is refused unchanged.
    @discardableResult
    public static func migrate(path: String, to target: String? = nil) throws -> [String] {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError.storeNotFound(path: path) }
        let target = target ?? latest
        guard let targetIndex = versions.firstIndex(of: target) else { throw StoreError.unknownMigration(target, known: versions) }
        var config = Configuration()
        config.busyMode = .timeout(10)
        do {
            let pool = try DatabasePool(path: path, configuration: config)
            defer { try? pool.close() }
            let applied = try pool.read { db in try checkNotNewer(db); return try self.applied(db) }
            let appliedIndex = applied.compactMap { versions.firstIndex(of: $0) }.max() ?? -1
            if appliedIndex > targetIndex {
                try downgrade(pool, to: target)
            } else {
                try migrator().migrate(pool, upTo: target)
            }
            return try pool.read { db in try self.applied(db) }
        } catch let error as DatabaseError {
            throw SQLiteEpisodeStore.translate(error, path: path)
        }
    }

    /// Migrations recorded in the database at `path`, oldest first (read-only).
    public static func appliedMigrations(path: String) throws -> [String] {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError.storeNotFound(path: path) }
        var config = Configuration()
        config.readonly = true
        do {
            let queue = try DatabaseQueue(path: path, configuration: config)
            defer { try? queue.close() }
            return try queue.read { db in try applied(db) }
        } catch let error as DatabaseError {
            throw SQLiteEpisodeStore.translate(error, path: path)
        }
    }

    /// Takes the database down to `target` (which stays applied): the inverse of every later
    /// migration, newest first, in one transaction.
    static func downgrade(_ writer: some DatabaseWriter, to target: String) throws {
        guard let index = versions.firstIndex(of: target) else {
            throw StoreError.unknownMigration(target, known: versions)
        }
        try writer.writeWithoutTransaction { db in
            try checkNotNewer(db)
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
                    throw DatabaseError(resultCode: .SQLITE_CONSTRAINT_FOREIGNKEY,
                                        message: "foreign key violation after downgrade: \(violation)")
                }
                return .commit
            }
        }
    }
}
