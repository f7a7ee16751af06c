import Foundation
import GRDB
import Testing
@testable import EpisodeStore
import VectorSearch

/// The schema history on real SQLite files: a database created at the initial version, holding
/// rows, upgraded in place to the latest and taken back; newer databases refused untouched.
@Suite struct MigrationTests {
    /// A database at `v1_initial_schema` with three episodes, one with a quality vector.
    func makeInitialVersionDatabase(_ path: String) throws {
        let pool = try DatabasePool(path: path)
        try StoreSchema.migrator().migrate(pool, upTo: "v1_initial_schema")
        try pool.write { db in
            try db.execute(sql: """
                INSERT INTO vector_columns(name, role, dimension, model_id, model_sha256, created_at)
                VALUES ('vector_fastembed', 'fast', 8, 'test-fast', 'aa', '2024-01-01 00:00:00.000'),
                       ('vector', 'quality', 12, 'test-quality', 'bb', '2024-01-01 00:00:00.000');
                INSERT INTO episodes(id, agent_id, content, summary, metadata, created_at, embedding_cached, embedding_cached_at)
                VALUES ('e1', 'agent-a', 'booked a flight', NULL, '{"k": 1}', '2024-01-02 10:00:00.000', 1, '2024-01-02 10:00:01.000'),
                       ('e2', 'agent-a', 'paid the invoice', 'invoice paid', '{}', '2024-01-03 10:00:00.000', 0, NULL),
                       ('e3', 'agent-b', 'called mom', NULL, '{}', '2024-01-04 10:00:00.000', 0, NULL);
                """)
            try db.execute(sql: "INSERT INTO episode_vectors(episode_id, column_name, vector) VALUES ('e1', 'vector', ?)",
                           arguments: [SQLiteEpisodeStore.encode([Float](repeating: 0.5, count: 12))])
        }
        try pool.close()
    }

    func columnNames(_ path: String) throws -> [String] {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in try db.columns(in: "episodes").map(\.name) }
    }

    @Test func initialVersionWithRowsUpgradesInPlaceAndGoesBack() throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        try makeInitialVersionDatabase(tmp.path)
        #expect(try StoreSchema.appliedMigrations(path: tmp.path) == ["v1_initial_schema"])
        #expect(try !columnNames(tmp.path).contains("fastembed_cached"))

        // Opening the store upgrades it in place; existing rows get false / NULL.
        do {
            let store = try tmp.open(columns: [])
            let e1 = try #require(try store.episode(id: "e1"))
            #expect(e1.content == "booked a flight")
            #expect(e1.metadata == ["k": .number(1)])
            #expect(e1.embeddingCached == true)
            #expect(e1.fastembedCached == false && e1.fastembedCachedAt == nil)
            let e2 = try #require(try store.episode(id: "e2"))
            #expect(e2.summary == "invoice paid" && e2.fastembedCached == false)
            #expect(store.columns.map(\.name).sorted() == ["vector", "vector_fastembed"])
            #expect(try store.vector(column: "vector", episodeID: "e1") == [Float](repeating: 0.5, count: 12))
            // The quality index was loaded from the upgraded file.
            #expect(try store.similaritySearch(vector: [Float](repeating: 0.1, count: 12), column: "vector", topK: 5,
                                               agentID: "agent-a").map(\.episodeID) == ["e1"])
        }
        #expect(try StoreSchema.appliedMigrations(path: tmp.path) == StoreSchema.versions)
        #expect(try columnNames(tmp.path).contains("fastembed_cached_at"))

        // Back to the initial version: the columns go, the rows stay.
        #expect(try StoreSchema.migrate(path: tmp.path, to: "v1_initial_schema") == ["v1_initial_schema"])
        #expect(try !columnNames(tmp.path).contains("fastembed_cached"))
        let queue = try DatabaseQueue(path: tmp.path)
        let (count, content, vectors) = try queue.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM episodes")!,
             try String.fetchOne(db, sql: "SELECT content FROM episodes WHERE id = 'e3'")!,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM episode_vectors")!)
        }
        try queue.close()
        #expect(count == 3 && content == "called mom" && vectors == 1)

        // And up again.
        #expect(try StoreSchema.migrate(path: tmp.path) == StoreSchema.versions)
        let store = try tmp.open(columns: [])
        #expect(try store.episode(id: "e2")?.fastembedCached == false)
    }

    @Test func newerSchemaIsRefusedAndTheFileIsUnchanged() throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        do { _ = try tmp.open() }
        let queue = try DatabaseQueue(path: tmp.path)
        try queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations(identifier) VALUES ('v99_from_the_future')") }
        try queue.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: tmp.path))
        #expect(throws: StoreError.schemaTooNew(unknownMigrations: ["v99_from_the_future"])) { try tmp.open(columns: []) }
        #expect(throws: StoreError.schemaTooNew(unknownMigrations: ["v99_from_the_future"])) {
            try StoreSchema.migrate(path: tmp.path, to: "v1_initial_schema")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: tmp.path)) == before)
    }

    @Test func unknownTargetMissingFileAndNonDatabase() throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        #expect(throws: StoreError.storeNotFound(path: tmp.path)) { try tmp.open(create: false) }
        #expect(throws: StoreError.storeNotFound(path: tmp.path)) { try StoreSchema.migrate(path: tmp.path) }
        _ = try tmp.open()
        #expect(throws: StoreError.unknownMigration("v7", known: StoreSchema.versions)) { try StoreSchema.migrate(path: tmp.path, to: "v7") }
        let junk = tmp.directory.appendingPathComponent("junk.sqlite").path
        try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: junk))
        #expect(throws: StoreError.notADatabase(path: junk)) {
            try SQLiteEpisodeStore(path: junk, configuration: .init(columns: []))
        }
    }
}
