import Foundation
import GRDB
import TestSupport
import Testing
import VectorSearch

@testable import EpisodeStore

/// The schema history on real SQLite files: a database created at the initial version, holding
/// rows, upgraded in place to the latest and taken back; newer and foreign databases refused
/// before anything is written.
@Suite struct SQLiteMigrationTests {
    /// A database at `v1_initial_schema` with three episodes, one with a quality vector.
    func makeInitialVersionDatabase(_ path: String, sameIDInTwoAgents: Bool = false) throws {
        let pool = try DatabasePool(path: path)
        var migrator = DatabaseMigrator()
        for migration in SQLiteSchema.migrations.prefix(1) { migrator.registerMigration(migration.name, migrate: migration.up) }
        try migrator.migrate(pool)
        try pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO vector_columns(name, role, dimension, model_id, model_sha256, created_at)
                    VALUES ('vector_fastembed', 'fast', 8, 'test-fast', 'aa', '2024-01-01 00:00:00.000'),
                           ('vector', 'quality', 12, 'test-quality', 'bb', '2024-01-01 00:00:00.000');
                    INSERT INTO episodes(id, agent_id, content, summary, metadata, created_at, embedding_cached, embedding_cached_at)
                    VALUES ('e1', 'agent-a', 'booked a flight', NULL, '{"k": 1}', '2024-01-02 10:00:00.000', 1, '2024-01-02 10:00:01.000'),
                           ('e2', 'agent-a', 'paid the invoice', 'invoice paid', '{}', '2024-01-03 10:00:00.000', 0, NULL),
                           ('e3', 'agent-b', 'called mom', NULL, '{}', '2024-01-04 10:00:00.000', 0, NULL);
                    """)
            try db.execute(
                sql: "INSERT INTO episode_vectors(episode_id, column_name, vector) VALUES ('e1', 'vector', ?)",
                arguments: [SQLiteRows.encode(vector(0.5, 12))])
        }
        try pool.close()
    }

    func columnNames(_ path: String, _ table: String = "episodes") throws -> [String] {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in try db.columns(in: table).map(\.name) }
    }

    @Test func initialVersionWithRowsUpgradesInPlaceAndGoesBack() async throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        try makeInitialVersionDatabase(tmp.path)
        #expect(try SQLiteEpisodeStore.appliedMigrations(path: tmp.path) == ["v1_initial_schema"])
        #expect(try !columnNames(tmp.path).contains("fastembed_cached"))

        // Opening the store upgrades it in place; existing rows get false / NULL.
        do {
            let store = try tmp.open(columns: [])
            let e1 = try #require(try await store.episode(agentID: "agent-a", id: "e1"))
            #expect(e1.content == "booked a flight")
            #expect(e1.metadata == ["k": 1])
            #expect(e1.embeddingCached == true)
            #expect(e1.fastembedCached == false && e1.fastembedCachedAt == nil)
            let e2 = try #require(try await store.episode(agentID: "agent-a", id: "e2"))
            #expect(e2.summary == "invoice paid" && e2.fastembedCached == false)
            #expect(try await store.episode(agentID: "agent-b", id: "e1") == nil)
            #expect(store.columns.map(\.name).sorted() == ["vector", "vector_fastembed"])
            #expect(try await store.vectors(column: "vector", agentID: "agent-a", episodeIDs: ["e1"]) == ["e1": vector(0.5, 12)])
            // The quality index was loaded from the upgraded file; the lexical index holds the old rows.
            #expect(
                try await store.similaritySearch(
                    vector: vector(0.1, 12), column: "vector", topK: 5,
                    agentID: "agent-a"
                ).map(\.episodeID) == ["e1"])
            #expect(try await store.lexicalSearch(query: "invoice", topK: 5, agentID: "agent-a").map(\.episodeID) == ["e2"])
            #expect(try await store.lexicalSearch(query: "invoice", topK: 5, agentID: "agent-b").isEmpty)
            await store.close()
        }
        #expect(try SQLiteEpisodeStore.appliedMigrations(path: tmp.path) == SQLiteSchema.versions)
        #expect(try columnNames(tmp.path).contains("updated_at"))

        // Back to the initial version: the columns go, the rows stay.
        #expect(try SQLiteEpisodeStore.migrate(path: tmp.path, to: "v1_initial_schema") == ["v1_initial_schema"])
        #expect(try !columnNames(tmp.path).contains("fastembed_cached"))
        let queue = try DatabaseQueue(path: tmp.path)
        let (count, content, vectors) = try await queue.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM episodes")!,
                try String.fetchOne(db, sql: "SELECT content FROM episodes WHERE id = 'e3'")!,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM episode_vectors")!
            )
        }
        try queue.close()
        #expect(count == 3 && content == "called mom" && vectors == 1)

        // And up again.
        #expect(try SQLiteEpisodeStore.migrate(path: tmp.path) == SQLiteSchema.versions)
        let store = try tmp.open(columns: [])
        #expect(try await store.episode(agentID: "agent-a", id: "e2")?.fastembedCached == false)
        await store.close()
    }

    @Test func goingBackBeforePerAgentIDsIsRefusedWhileTwoAgentsShareAnID() async throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        let store = try tmp.open()
        try await store.add(Episode(id: "shared", agentID: "a", content: "one"))
        try await store.add(Episode(id: "shared", agentID: "b", content: "two"))
        await store.close()
        #expect(throws: StoreError.self) { try SQLiteEpisodeStore.migrate(path: tmp.path, to: "v3_add_lexical_index") }
        #expect(try SQLiteEpisodeStore.appliedMigrations(path: tmp.path) == SQLiteSchema.versions)
        let reopened = try tmp.open(columns: [])
        #expect(try await reopened.episode(agentID: "b", id: "shared")?.content == "two")
        await reopened.close()
    }

    @Test func newerSchemaIsRefusedBeforeAnythingIsWritten() async throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        do { await (try tmp.open()).close() }
        let queue = try DatabaseQueue(path: tmp.path)
        try await queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations(identifier) VALUES ('v99_from_the_future')") }
        try queue.close()
        let before = fileBytes(tmp.path)
        #expect(throws: StoreError.schemaTooNew(unknownMigrations: ["v99_from_the_future"])) { try tmp.open(columns: []) }
        #expect(throws: StoreError.schemaTooNew(unknownMigrations: ["v99_from_the_future"])) {
            try SQLiteEpisodeStore.migrate(path: tmp.path, to: "v1_initial_schema")
        }
        #expect(throws: StoreError.schemaTooNew(unknownMigrations: ["v99_from_the_future"])) {
            try SQLiteEpisodeStore.migrate(path: tmp.path)
        }
        #expect(fileBytes(tmp.path) == before)
    }

    @Test func aDatabaseOfAnotherProgramIsRefusedUnchanged() throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        for schema in [
            "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT)",
            "CREATE TABLE episodes(id TEXT PRIMARY KEY, agent_id TEXT, content TEXT)",
        ] {
            try? FileManager.default.removeItem(atPath: tmp.path)
            let queue = try DatabaseQueue(path: tmp.path)
            try queue.write { db in try db.execute(sql: schema) }
            try queue.close()
            let before = fileBytes(tmp.path)
            #expect(throws: StoreError.notAnEpisodeStore(location: tmp.path)) { try tmp.open(columns: []) }
            #expect(throws: StoreError.notAnEpisodeStore(location: tmp.path)) { try tmp.open() }
            #expect(throws: StoreError.notAnEpisodeStore(location: tmp.path)) { try SQLiteEpisodeStore.migrate(path: tmp.path) }
            #expect(fileBytes(tmp.path) == before)
            let tables = try DatabaseQueue(path: tmp.path).read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master") }
            #expect(!tables.contains("grdb_migrations") && !tables.contains("store_meta"))
        }
    }

    @Test func missingEmptyJunkAndDirectoryLocations() throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        #expect(throws: StoreError.storeNotFound(location: tmp.path)) { try tmp.open(create: false) }
        #expect(throws: StoreError.storeNotFound(location: tmp.path)) { try SQLiteEpisodeStore.migrate(path: tmp.path) }
        #expect(!FileManager.default.fileExists(atPath: tmp.path))
        // An empty file is not a store yet: created only when asked.
        FileManager.default.createFile(atPath: tmp.path, contents: Data())
        #expect(throws: StoreError.storeNotFound(location: tmp.path)) { try tmp.open(create: false) }
        _ = try tmp.open()
        #expect(throws: StoreError.unknownMigration("v7", known: SQLiteSchema.versions)) {
            try SQLiteEpisodeStore.migrate(path: tmp.path, to: "v7")
        }
        let junk = tmp.directory.path("junk.sqlite")
        try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: junk))
        #expect(throws: StoreError.notADatabase(path: junk)) { try SQLiteEpisodeStore(path: junk, configuration: .init()) }
        #expect(throws: StoreError.notADatabase(path: tmp.directory.url.path)) {
            try SQLiteEpisodeStore(path: tmp.directory.url.path, configuration: .init(createIfMissing: true))
        }
        let orphan = tmp.directory.path("no/such/folder/m.sqlite")
        #expect(throws: StoreError.storeNotFound(location: orphan)) {
            try SQLiteEpisodeStore(path: orphan, configuration: .init(createIfMissing: true))
        }
    }

    @Test func aReadOnlyFileOpensForReadingAndRefusesWrites() async throws {
        let tmp = try TemporaryStore()
        defer {
            try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tmp.directory.url.path)
            tmp.cleanup()
        }
        do {
            let store = try tmp.open()
            try await store.add(Episode(id: "kept", agentID: "a", content: "read me"), vectors: ["vector_fastembed": vector(0.5, 8)])
            await store.close()
        }
        // Checkpointed and closed, then the file and its folder made read-only.
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: tmp.path)
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: tmp.path + suffix) }
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: tmp.directory.url.path)
        let before = fileBytes(tmp.path)
        // Root ignores file permissions; the store must then still honour an explicit read-only open.
        let store = try tmp.open(columns: [], create: false, readOnly: true)
        #expect(store.isReadOnly)
        #expect(try await store.episode(agentID: "a", id: "kept")?.content == "read me")
        #expect(
            try await store.similaritySearch(vector: vector(0.5, 8), column: "vector_fastembed", topK: 3, agentID: "a").map(\.episodeID)
                == ["kept"])
        #expect(try await store.stats().episodes == 1)
        await #expect(throws: StoreError.readOnly(location: tmp.path)) { try await store.add(Episode(agentID: "a", content: "no")) }
        await #expect(throws: StoreError.readOnly(location: tmp.path)) { try await store.delete(agentID: "a", id: "kept") }
        await store.close()
        #expect(fileBytes(tmp.path) == before)
    }

    @Test func anUnreadableRowIsReportedAndTheRestOfTheAgentStaysReadable() async throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        let store = try tmp.open()
        try await store.add(Episode(id: "good", agentID: "a", content: "fine", createdAt: Date(timeIntervalSince1970: 1000)))
        try await store.add(Episode(id: "bad", agentID: "a", content: "damaged", createdAt: Date(timeIntervalSince1970: 2000)))
        // Another program writes a date this code cannot read.
        let queue = try DatabaseQueue(path: tmp.path)
        try await queue.write { db in try db.execute(sql: "UPDATE episodes SET created_at = '10000-01-01 00:00:00.000' WHERE id = 'bad'") }
        try queue.close()
        await #expect(throws: StoreError.corruptEpisode(id: "bad", reason: "created_at is not a date")) {
            try await store.episode(agentID: "a", id: "bad")
        }
        #expect(try await store.episodes(agentID: "a", limit: 10, after: nil).map(\.id) == ["good"])
        #expect(try await store.episodes(agentID: "a", ids: ["bad", "good"]).map(\.id) == ["good"])
        #expect(try await store.delete(agentID: "a", id: "bad"))
        await store.close()
    }

    @Test func theDatabaseRefusesAWrongLengthFromAnyWriter() async throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        await (try tmp.open()).close()
        let insert =
            "INSERT INTO episodes(agent_id, id, content, created_at, updated_at) VALUES ('a', 'raw', 'c', '2024-01-01', '2024-01-01')"
        // Without the full-text index's tokenizer and functions a raw writer is refused, whole.
        let bare = try DatabaseQueue(path: tmp.path)
        await #expect(throws: DatabaseError.self) { try await bare.write { db in try db.execute(sql: insert) } }
        #expect(try await bare.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM episodes") } == 0)
        try bare.close()
        var configuration = Configuration()
        configuration.prepareDatabase { db in try SQLiteEpisodeStore.prepareConnection(db) }
        let queue = try DatabaseQueue(path: tmp.path, configuration: configuration)
        try await queue.write { db in try db.execute(sql: insert) }
        await #expect(throws: DatabaseError.self) {
            try await queue.write { db in
                try db.execute(
                    sql: "INSERT INTO episode_vectors(agent_id, episode_id, column_name, vector) VALUES ('a', 'raw', 'vector', ?)",
                    arguments: [Data(count: 7 * 4)])
            }
        }
        // The raw row is in the lexical index too (written by the trigger).
        let store = try tmp.open(columns: [])
        #expect(try await store.episode(agentID: "a", id: "raw")?.content == "c")
        await store.close()
    }
}
