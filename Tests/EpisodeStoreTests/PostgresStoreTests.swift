import EpisodeStore
import Foundation
import PostgresEpisodeStore
import TestSupport
import Testing
import VectorSearch

/// What only the PostgreSQL store has: the HNSW path on a large agent, migrations of a
/// PostgreSQL schema, refusing what is not ours, halfvec storage, connection errors.
@Suite(.serialized) struct PostgresStoreTests {
    static let column = VectorColumn(name: "vector_fastembed", role: .fast, dimension: 64, modelID: "random")

    /// A large agent (HNSW with iterative scans) beside many small ones (a selective filter on a
    /// big table): every query returns exactly k; recall@100 of the approximate path is printed.
    @Test func aLargeAgentOnTheHNSWPathAndASelectiveFilterAreNeverShort() async throws {
        let (url, schema) = try PostgresTestDatabase.url()
        defer { Task { await PostgresTestDatabase.drop(schema: schema) } }
        let store = try await PostgresEpisodeStore.open(url: url, configuration: .init(columns: [Self.column], createIfMissing: true))
        var random = SeededRandom(state: 4242)
        // Clustered vectors, as embeddings are: 64 centres, each vector near one of them.
        let centres = (0..<64).map { _ in random.unitVector(64) }
        func clustered() -> [Float] {
            let centre = centres[Int(random.next() % 64)]
            let noise = random.unitVector(64)
            let v = zip(centre, noise).map { $0 + 0.35 * $1 }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / norm }
        }
        var big: [(id: String, vector: [Float])] = []
        var small: [String: [(id: String, vector: [Float])]] = [:]
        var batch: [NewEpisode] = []
        for i in 0..<24_000 {
            let v = clustered()
            let agent = i < 20_000 ? "big" : "small-\(i % 40)"
            if agent == "big" { big.append(("b\(i)", v)) } else { small[agent, default: []].append(("b\(i)", v)) }
            batch.append(NewEpisode(Episode(id: "b\(i)", agentID: agent, content: "episode \(i)"), vectors: [Self.column.name: v]))
            if batch.count == 2000 {
                try await store.add(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        var recalls: [Double] = []
        for _ in 0..<20 {
            let query = clustered()
            let hits = try await store.similaritySearch(vector: query, column: Self.column.name, topK: 100, agentID: "big")
            #expect(hits.count == 100)
            #expect(Set(hits.map(\.episodeID)).count == 100)
            let exact = Set(bruteForce(big, query: query, k: 100))
            recalls.append(Double(exact.intersection(hits.map(\.episodeID)).count) / 100)
            for agent in ["small-3", "small-17"] {
                let vectors = small[agent]!
                let filtered = try await store.similaritySearch(vector: query, column: Self.column.name, topK: 100, agentID: agent)
                #expect(filtered.count == min(100, vectors.count))
                #expect(filtered.map(\.episodeID) == bruteForce(vectors, query: query, k: 100))
            }
        }
        let recall = recalls.reduce(0, +) / Double(recalls.count)
        print(
            "postgres HNSW path (20,000 episodes of one agent, 64-d clustered): recall@100 against exact search = \(String(format: "%.3f", recall))"
        )
        #expect(recall > 0.5)
        await store.close()
    }

    /// The same named migrations as SQLite, down and up again with rows in place; a newer store and
    /// a schema of another program are refused before anything is written.
    @Test func migrationsGoDownAndUpAndNewerOrForeignSchemasAreRefusedUnchanged() async throws {
        #expect(PostgresEpisodeStore.migrationNames == SQLiteSchema.versions)
        let (url, schema) = try PostgresTestDatabase.url()
        defer { Task { await PostgresTestDatabase.drop(schema: schema) } }
        let store = try await PostgresEpisodeStore.open(url: url, configuration: .init(columns: [Self.column], createIfMissing: true))
        var random = SeededRandom(state: 1)
        try await store.add(
            Episode(id: "e1", agentID: "a", content: "kept across migrations"), vectors: [Self.column.name: random.unitVector(64)])
        await store.close()
        #expect(try await PostgresEpisodeStore.migrate(url: url, to: "v1_initial_schema") == ["v1_initial_schema"])
        #expect(try await PostgresEpisodeStore.migrate(url: url) == SQLiteSchema.versions)
        let reopened = try await PostgresEpisodeStore.open(url: url)
        #expect(try await reopened.episode(agentID: "a", id: "e1")?.content == "kept across migrations")
        #expect(try await reopened.lexicalSearch(query: "migrations", topK: 5, agentID: "a").map(\.episodeID) == ["e1"])
        await reopened.close()

        // Newer: refused before anything is written (the recorded migrations are unchanged).
        try await PostgresTestDatabase.execute(["INSERT INTO \"\(schema)\".episodic_migrations (identifier) VALUES ('v99_from_the_future')"]
        )
        await #expect(throws: StoreError.schemaTooNew(unknownMigrations: ["v99_from_the_future"])) {
            try await PostgresEpisodeStore.open(url: url, configuration: .init(createIfMissing: true))
        }
        await #expect(throws: StoreError.schemaTooNew(unknownMigrations: ["v99_from_the_future"])) {
            try await PostgresEpisodeStore.migrate(url: url, to: "v1_initial_schema")
        }
        #expect(try await PostgresEpisodeStore.appliedMigrations(url: url) == SQLiteSchema.versions + ["v99_from_the_future"])

        // Another program's schema: refused, and nothing of ours is added to it.
        let (foreign, foreignSchema) = try PostgresTestDatabase.url()
        defer { Task { await PostgresTestDatabase.drop(schema: foreignSchema) } }
        try await PostgresTestDatabase.execute([
            "CREATE SCHEMA \"\(foreignSchema)\"",
            "CREATE TABLE \"\(foreignSchema)\".episodes (id text PRIMARY KEY, body text)",
        ])
        await #expect(throws: StoreError.notAnEpisodeStore(location: try PostgresLocation(url: foreign).redacted)) {
            try await PostgresEpisodeStore.open(url: foreign, configuration: .init(columns: [Self.column], createIfMissing: true))
        }
        // A schema that does not exist is created only when asked.
        let (absent, absentSchema) = try PostgresTestDatabase.url()
        defer { Task { await PostgresTestDatabase.drop(schema: absentSchema) } }
        await #expect(throws: StoreError.storeNotFound(location: try PostgresLocation(url: absent).redacted)) {
            try await PostgresEpisodeStore.open(url: absent)
        }
    }

    /// Quality vectors stored as halfvec: half the bytes, the same answers to float16 precision.
    @Test func halfvecStorageSearchesLikeFloat32() async throws {
        let quality = VectorColumn(name: "vector", role: .quality, dimension: 32, modelID: "q")
        let (url, schema) = try PostgresTestDatabase.url(["quality_vector": "halfvec"])
        defer { Task { await PostgresTestDatabase.drop(schema: schema) } }
        let store = try await PostgresEpisodeStore.open(
            url: url, configuration: .init(columns: [Self.column, quality], createIfMissing: true))
        var random = SeededRandom(state: 9)
        var vectors: [(id: String, vector: [Float])] = []
        for i in 0..<300 {
            let v = random.unitVector(32)
            vectors.append(("h\(i)", v))
            try await store.add(Episode(id: "h\(i)", agentID: "a", content: "x"), vectors: ["vector": v])
        }
        let query = random.unitVector(32)
        let hits = try await store.similaritySearch(vector: query, column: "vector", topK: 10, agentID: "a")
        #expect(hits.count == 10)
        let stored = try await store.vectors(column: "vector", agentID: "a", episodeIDs: ["h0"])["h0"]!
        #expect(zip(stored, vectors[0].vector).allSatisfy { abs($0 - $1) < 1e-3 })
        let exact = bruteForce(vectors, query: query, k: 10)
        #expect(Set(hits.prefix(5).map(\.episodeID)).intersection(exact).count >= 4)
        await store.close()
    }

    /// Stores in six schemas of one fresh database, created at once, all open and take a write:
    /// extensions belong to the database, and `CREATE EXTENSION IF NOT EXISTS` racing itself
    /// failed one of two stores created together (seen in CI, two `episodic init` at once).
    @Test func storesCreatedAtOnceInAFreshDatabaseAllOpen() async throws {
        let database = "episodic_fresh_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        try await PostgresTestDatabase.execute(["CREATE DATABASE \(database)"])
        var components = URLComponents(string: try PostgresTestDatabase.baseURL())!
        components.path = "/\(database)"
        let base = components
        let results = await withTaskGroup(of: (Int, Error?).self) { group in
            for i in 0..<6 {
                group.addTask {
                    var url = base
                    url.queryItems = [URLQueryItem(name: "schema", value: "s\(i)"), URLQueryItem(name: "sslmode", value: "disable")]
                    do {
                        let store = try await PostgresEpisodeStore.open(
                            url: url.string!, configuration: .init(columns: [Self.column], createIfMissing: true))
                        var vector = [Float](repeating: 0, count: Self.column.dimension)
                        vector[i] = 1
                        try await store.add(Episode(id: "e", agentID: "a", content: "store \(i)"), vectors: [Self.column.name: vector])
                        await store.close()
                        return (i, nil)
                    } catch {
                        return (i, error)
                    }
                }
            }
            var all: [(Int, Error?)] = []
            for await result in group { all.append(result) }
            return all
        }
        try await PostgresTestDatabase.execute(["DROP DATABASE \(database) WITH (FORCE)"])
        #expect(results.count == 6)
        for (i, error) in results { #expect(error == nil, "store s\(i): \(String(describing: error))") }
    }

    @Test func anUnreachableServerIsAClearError() async throws {
        do {
            _ = try await PostgresEpisodeStore.open(
                url: "postgres://nobody:secret@127.0.0.1:9/db?sslmode=disable", configuration: .init(createIfMissing: true))
            Issue.record("connected to a closed port")
        } catch StoreError.unavailable(let location, let reason) {
            #expect(!location.contains("secret") && location.contains("***"))
            #expect(reason.contains("cannot connect") && reason.contains("scripts/postgres.sh start"), "\(reason)")
        }
        #expect(throws: StoreError.self) { try PostgresLocation(url: "postgres://h/db?sslmode=maybe") }
        #expect(throws: StoreError.self) { try PostgresLocation(url: "postgres://h/db?schema=Robert'); DROP TABLE students;--") }
        #expect(throws: StoreError.self) { try PostgresLocation(url: "postgres://h/db?colour=red") }
        #expect(try PostgresLocation(url: "postgresql://u:p%40ss@db.example:6543/mem?sslmode=require&schema=team_a").password == "p@ss")
    }
}
