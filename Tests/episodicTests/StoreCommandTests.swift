import EpisodicMemory
import Foundation
import GRDB
import TestSupport
import Testing
import VectorSearch

/// The store commands through real processes on real SQLite files.
@Suite struct StoreCommandTests {
    let directory: URL
    var db: String { directory.appendingPathComponent("memory.sqlite").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("episodic-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func run(_ arguments: [String], stdin: String? = nil) async throws -> CLIRunner.Result {
        try await CLIRunner.run(["--db", db] + arguments, stdin: stdin)
    }

    @Test func initAddSearchGetDeleteStats() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let created = try await run(["init", "--quality-model", "all-mpnet-base-v2"])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("vector_fastembed: fast, 384 dimensions"))
        #expect(created.stdout.contains("vector: quality, 768 dimensions"))
        #expect(try await run(["init"]).status == 65) // never overwrites a store

        let added = try await run([
            "add", "--agent", "planner", "--text", "Booked the flight to Lisbon for Friday", "--metadata", #"{"tool": "flights"}"#,
        ])
        #expect(added.status == 0, "\(added.stderr)")
        let id = added.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await run(["add", "--agent", "planner", "--text", "Paid the electricity bill"]).status == 0)
        #expect(try await run(["add", "--agent", "planner", "--text", "x", "--metadata", "[1]"]).status == 65)

        let search = try await run(["search", "--agent", "planner", "--query", "travel to Portugal", "--top-k", "5", "--json"])
        #expect(search.status == 0, "\(search.stderr)")
        let results = try #require(
            (try JSONSerialization.jsonObject(with: Data(search.stdout.utf8)) as? [String: Any])?["results"] as? [[String: Any]])
        #expect(results.count == 2)
        #expect(results.first?["episode_id"] as? String == id)

        let get = try await run(["get", "--agent", "planner", id])
        let episode = try #require(try JSONSerialization.jsonObject(with: Data(get.stdout.utf8)) as? [String: Any])
        #expect(episode["content"] as? String == "Booked the flight to Lisbon for Friday")
        #expect(episode["fastembed_cached"] as? Bool == true)
        #expect(episode["embedding_cached"] as? Bool == true) // quality vector computed in the same add
        #expect((episode["metadata"] as? [String: Any])?["tool"] as? String == "flights")

        #expect(try await run(["search", "--agent", "nobody", "--query", "x"]).status == 66)
        // Another agent's id is unknown to this agent.
        #expect(try await run(["get", "--agent", "other", id]).status == 66)
        #expect(try await run(["delete", "--agent", "other", id]).status == 66)
        #expect(try await run(["delete", "--agent", "planner", id]).status == 0)
        #expect(try await run(["get", "--agent", "planner", id]).status == 66)
        #expect(try await run(["delete", "--agent", "planner", id]).status == 66)
        let stats = try await run(["stats", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
        #expect(object["episodes"] as? Int == 1)
    }

    @Test func missingStoreAndWrongVectorFile() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = try await run(["stats"])
        #expect(missing.status == 66)
        #expect(missing.stderr.contains("create one with `episodic --db"))
        #expect(
            try await run(["init", "--fast-model", "tiny", "--fast-dim", "4", "--quality-model", "tinyq", "--quality-dim", "6"]).status == 0
        )
        let vectorFile = directory.appendingPathComponent("q.json")
        try Data("[0.1, 0.2, 0.3]".utf8).write(to: vectorFile)
        let wrong = try await run(["search", "--agent", "a", "--vector-file", vectorFile.path])
        #expect(wrong.status == 65)
        #expect(wrong.stderr.contains("column vector_fastembed holds 4-dimensional vectors, got 3 values"))
    }

    /// `EPISODIC_CPU_FEATURES` reaches the search kernels too: the portable and AVX2 paths rank an
    /// agent of 3,000 vectors alike (their float sums may differ in the last bits).
    @Test func narrowingTheCPUFeaturesSearchesAlike() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(
            try await run(["init", "--fast-model", "tiny", "--fast-dim", "64", "--quality-model", "tinyq", "--quality-dim", "4"]).status
                == 0)
        var random = SeededRandom(state: 17)
        let lines = (0..<3000).map { i in
            let vector = random.unitVector(64).map { "\($0)" }.joined(separator: ",")
            return #"{"id": "e\#(i)", "agent_id": "a", "content": "episode \#(i)", "vectors": {"vector_fastembed": [\#(vector)]}}"#
        }
        let file = directory.appendingPathComponent("in.jsonl")
        try Data(lines.joined(separator: "\n").utf8).write(to: file)
        #expect(try await run(["import", file.path]).status == 0)
        let vectorFile = directory.appendingPathComponent("q.json")
        try Data("[\(random.unitVector(64).map { "\($0)" }.joined(separator: ","))]".utf8).write(to: vectorFile)

        func search(_ features: String?) async throws -> [(id: String, score: Double)] {
            let arguments = ["--db", db, "search", "--agent", "a", "--vector-file", vectorFile.path, "--top-k", "50", "--json"]
            let result = try await CLIRunner.run(arguments, environment: features.map { ["EPISODIC_CPU_FEATURES": $0] } ?? [:])
            #expect(result.status == 0, "\(result.stderr)")
            let object = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            let results = object?["results"] as? [[String: Any]] ?? []
            return results.map { ($0["episode_id"] as? String ?? "", $0["score"] as? Double ?? .nan) }
        }
        let fastest = try await search(nil)
        #expect(fastest.count == 50)
        for features in ["none", "avx2"] {
            let narrowed = try await search(features)
            #expect(narrowed.map(\.id) == fastest.map(\.id), "EPISODIC_CPU_FEATURES=\(features)")
            for (a, b) in zip(narrowed, fastest) { #expect(abs(a.score - b.score) <= 1e-5, "\(a.id): \(a.score) vs \(b.score)") }
        }
    }

    @Test func importReportsBadLinesByNumberAndStoresTheRest() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(
            try await run(["init", "--fast-model", "tiny", "--fast-dim", "4", "--quality-model", "tinyq", "--quality-dim", "6"]).status == 0
        )
        let lines = [
            #"{"id": "a1", "agent_id": "a", "content": "one", "vectors": {"vector_fastembed": [1, 0, 0, 0]}}"#,
            #"{"id": "a2", "agent_id": "a", "content": "two", "vectors": {"vector_fastembed": [1, 0, 0]}}"#,
            #"not json"#,
            #"{"id": "a3", "agent_id": "a", "content": "", "vectors": {"vector_fastembed": [0, 1, 0, 0]}}"#,
            #"{"id": "a4", "agent_id": "a", "content": "four", "summary": "4", "metadata": {"n": 4}, "created_at": "2024-05-01T10:00:00Z", "vectors": {"vector_fastembed": [0, 0, 1, 0], "vector": [1, 2, 3, 4, 5, 6]}}"#,
            #"{"id": "a1", "agent_id": "a", "content": "again", "vectors": {"vector_fastembed": [1, 1, 0, 0]}}"#,
            #"{"id": "a5", "agent_id": "a", "content": "five", "vectors": {"vector_fastembed": [0, 0, 0, NaN]}}"#,
            #"{"id": "a6", "agent_id": "a", "content": "six", "vectors": {"embedding": [0, 0, 0, 1]}}"#,
            #"{"id": "a7", "agent_id": "a", "content": "seven", "colour": "red"}"#,
            "",
            #"{"id": "a8", "agent_id": "b", "content": "eight", "created_at": 1700000000, "vectors": {"vector_fastembed": [0, 0, 0, 1]}}"#,
        ]
        let file = directory.appendingPathComponent("in.jsonl")
        try Data(lines.joined(separator: "\n").utf8).write(to: file)
        let result = try await run(["import", file.path, "--batch-size", "2"])
        #expect(result.status == 65)
        for fragment in [
            "line 2: column vector_fastembed holds 4-dimensional vectors, got 3 values",
            "line 3: invalid JSON at byte 0", "line 4: episode a3: content is empty",
            "line 6: id a1 of agent a appears earlier in the file", "line 7: invalid JSON at byte",
            "line 8: no vector column named embedding", "line 9: unknown field \"colour\"",
        ] {
            #expect(result.stderr.contains(fragment), "missing \(fragment) in \(result.stderr)")
        }
        #expect(result.stdout.contains("imported 3 episodes"))
        let memory = try await EpisodicMemory.open(db)
        #expect(try await memory.agentEpisodeCounts() == ["a": 2, "b": 1])
        let a4 = try await memory.episode(agentID: "a", id: "a4")
        #expect(a4.summary == "4" && a4.metadata == ["n": 4] && a4.embeddingCached && a4.fastembedCached)
        #expect(a4.createdAt == (try EpisodeTime.parse(rfc3339: "2024-05-01T10:00:00Z")))
        let a8 = try await memory.episode(agentID: "b", id: "a8")
        #expect(a8.createdAt == Date(timeIntervalSince1970: 1_700_000_000))
        await memory.close()
        // Importing the same file again: every line is now a duplicate (or still bad).
        let again = try await run(["import", file.path])
        #expect(again.status == 65 && again.stderr.contains("line 1: an episode with id a1 already exists"))
    }

    @Test func migrateDownAndUpThroughTheCLI() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(
            try await run(["init", "--fast-model", "tiny", "--fast-dim", "4", "--quality-model", "tinyq", "--quality-dim", "6"]).status == 0
        )
        let down = try await run(["migrate", "--to", "v1_initial_schema"])
        #expect(down.status == 0 && down.stdout.contains("→ v1_initial_schema"))
        #expect(try SQLiteEpisodeStore.appliedMigrations(path: db) == ["v1_initial_schema"])
        let up = try await run(["migrate"])
        #expect(up.status == 0 && up.stdout.contains("→ \(SQLiteSchema.latest)"))
        #expect(try await run(["migrate", "--to", "v9"]).status == 65)
    }
}

/// Retrieval and backfill through real processes, with the bundled models.
@Suite struct RetrieveCommandTests {
    @Test func retrieveBackfillAndBaseline() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("episodic-retrieve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let db = directory.appendingPathComponent("m.sqlite").path
        func run(_ args: [String]) async throws -> CLIRunner.Result { try await CLIRunner.run(["--db", db] + args) }
        #expect(try await run(["init", "--quality-model", "all-mpnet-base-v2"]).status == 0)
        for text in ["Booked the flight to Lisbon for Friday", "Paid the electricity bill", "Alice loves vegetarian food"] {
            #expect(try await run(["add", "--agent", "a", "--text", text, "--quality", "defer"]).status == 0)
        }
        // A one-shot command cannot finish background work: usage error, nothing stored.
        let background = try await run(["add", "--agent", "a", "--text", "Renewed the passport", "--quality", "background"])
        #expect(background.status == 64 && background.stderr.contains("--quality takes sync or defer"))
        #expect(
            try await run(["add", "--agent", "a", "--text", "x", "--quality", "later"]).stderr.contains("'sync', 'background' or 'defer'"))
        let stats = try await run(["stats", "--json"])
        let columns = (try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])?["columns"] as? [[String: Any]]
        #expect(columns?.first { $0["name"] as? String == "vector" }?["vectors"] as? Int == 0)

        let backfill = try await run(["backfill", "--column", "quality"])
        #expect(backfill.status == 0, "\(backfill.stderr)")
        #expect(backfill.stdout.contains("vector: 3 vectors computed"))
        #expect(try await run(["backfill"]).stdout.contains("vector: nothing to do"))

        let hybrid = try await run(["retrieve", "--agent", "a", "--query", "what does Alice eat?", "--json"])
        #expect(hybrid.status == 0, "\(hybrid.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(hybrid.stdout.utf8)) as? [String: Any])
        let results = try #require(object["results"] as? [[String: Any]])
        #expect(results.count == 3)
        #expect(results.allSatisfy { $0["stage"] as? String == "reranked" })
        #expect((results.first?["episode"] as? [String: Any])?["content"] as? String == "Alice loves vegetarian food")
        #expect(object["fallback_reason"] is NSNull)
        #expect(((object["timings_ms"] as? [String: Any])?["total"] as? Double ?? 0) > 0)

        let baseline = try await run(["retrieve", "--agent", "a", "--query", "flight", "--baseline", "--top-k", "1"])
        #expect(baseline.status == 0 && baseline.stdout.contains("[coarse_only] Booked the flight"))
        #expect(try await run(["retrieve", "--agent", "a", "--query", "   "]).status == 65)
        #expect(try await run(["retrieve", "--agent", "nobody", "--query", "x"]).status == 66)
    }

    @Test func aMissingQualityModelFallsBackWithTheReason() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("episodic-fallback-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let db = directory.appendingPathComponent("m.sqlite").path
        func run(_ args: [String]) async throws -> CLIRunner.Result { try await CLIRunner.run(["--db", db] + args) }
        // The default quality model (bge-large-en-v1.5) is not installed offline.
        #expect(try await run(["init"]).status == 0)
        let added = try await run(["add", "--agent", "a", "--text", "Booked the flight to Lisbon"])
        #expect(added.status == 0, "\(added.stderr)")
        let retrieved = try await run(["retrieve", "--agent", "a", "--query", "flight"])
        #expect(retrieved.status == 0, "\(retrieved.stderr)")
        #expect(retrieved.stdout.contains("coarse fallback: the model of column vector is unavailable"), "\(retrieved.stdout)")
        #expect(retrieved.stdout.contains("[coarse_fallback] Booked the flight to Lisbon"))
        #expect(try await run(["backfill", "--column", "quality"]).status == 69)
    }
}
