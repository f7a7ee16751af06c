import Foundation
import TestSupport
import Testing

/// update, list, delete --filter, forget, compact, and export → import round trips, through real
/// processes on a SQLite file and a PostgreSQL schema.
@Suite struct MemoryOperationsCommandTests {
    /// A store location of `backend` and its cleanup.
    static func location(_ backend: Backend, in directory: URL, name: String) throws -> (String, () async -> Void) {
        switch backend {
        case .sqlite:
            return (directory.appendingPathComponent("\(name).sqlite").path, {})
        case .postgres:
            let (url, schema) = try PostgresTestDatabase.url()
            return (url, { await PostgresTestDatabase.drop(schema: schema) })
        }
    }

    static func lines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test(arguments: Backend.allCases)
    func updateListDeleteForgetThroughTheCLI(_ backend: Backend) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("episodic-ops-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let (db, drop) = try Self.location(backend, in: directory, name: "m")
        func run(_ arguments: [String]) async throws -> CLIRunner.Result { try await CLIRunner.run(["--db", db] + arguments) }
        #expect(try await run(["init"]).status == 0)
        for (id, text, tool) in [
            ("a1", "Booked the flight to Lisbon", "flights"), ("a2", "Paid the electricity bill", "bills"),
            ("a3", "Flight to Porto delayed", "flights"),
        ] {
            let added = try await run([
                "add", "--agent", "p", "--id", id, "--text", text, "--metadata", "{\"tool\": \"\(tool)\"}", "--quality", "defer",
            ])
            #expect(added.status == 0, "\(added.stderr)")
        }
        // Rerunning an add with the same id stores nothing new; other text under that id is refused.
        let again = try await run([
            "add", "--agent", "p", "--id", "a1", "--text", "Booked the flight to Lisbon", "--metadata", "{\"tool\": \"flights\"}",
        ])
        #expect(again.status == 0 && again.stderr.contains("already stored"))
        #expect(try await run(["add", "--agent", "p", "--id", "a1", "--text", "something else"]).status == 65)

        let updated = try await run([
            "update", "--agent", "p", "a2", "--content", "Paid the water bill", "--metadata", "{\"paid\": true}", "--json",
        ])
        #expect(updated.status == 0, "\(updated.stderr)")
        let episode = try #require(Self.lines(updated.stdout).first)
        #expect(episode["content"] as? String == "Paid the water bill")
        #expect((episode["metadata"] as? [String: Any])?["paid"] as? Bool == true)
        #expect((episode["metadata"] as? [String: Any])?["tool"] as? String == "bills")
        #expect(try await run(["update", "--agent", "p", "ghost", "--content", "x"]).status == 66)
        #expect(try await run(["update", "--agent", "p", "a2"]).status == 64)

        let byUpdate = try await run(["list", "--agent", "p", "--order", "updated_at"])
        #expect(Self.lines(byUpdate.stdout).compactMap { $0["id"] as? String }.first == "a2")
        let flights = try await run(["list", "--agent", "p", "--filter", "{\"metadata\": {\"tool\": \"flights\"}}"])
        #expect(Set(Self.lines(flights.stdout).compactMap { $0["id"] as? String }) == ["a1", "a3"])
        let badOperator = try await run(["list", "--agent", "p", "--filter", "{\"metadata\": {\"tool\": {\"like\": \"f%\"}}}"])
        #expect(badOperator.status == 65 && badOperator.stderr.contains("\"like\""))

        let retrieved = try await run([
            "retrieve", "--agent", "p", "--query", "flight", "--filter", "{\"exclude_ids\": [\"a1\"]}", "--json",
        ])
        #expect(retrieved.status == 0, "\(retrieved.stderr)")
        let results = (Self.lines(retrieved.stdout).first?["results"] as? [[String: Any]]) ?? []
        #expect(!results.isEmpty && results.allSatisfy { ($0["episode"] as? [String: Any])?["id"] as? String != "a1" })

        let deleted = try await run(["delete", "--agent", "p", "--filter", "{\"metadata\": {\"tool\": \"flights\"}}", "--compact"])
        #expect(deleted.status == 0 && deleted.stdout.contains("deleted 2 episodes"), "\(deleted.stderr)")
        #expect(try await run(["delete", "--agent", "p"]).status == 64)
        let forgot = try await run(["forget", "--agent", "p", "--compact"])
        #expect(forgot.status == 0 && forgot.stdout.contains("1 episode"), "\(forgot.stderr)")
        #expect(try await run(["forget", "--agent", "p"]).status == 66)
        #expect(try await run(["compact"]).status == 0)
        await drop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// SQLite → PostgreSQL → SQLite: every episode and vector comes back equal.
    @Test func exportImportRoundTripsAcrossBackends() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("episodic-roundtrip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let first = directory.appendingPathComponent("first.sqlite").path
        let last = directory.appendingPathComponent("last.sqlite").path
        let (middle, drop) = try Self.location(.postgres, in: directory, name: "middle")
        #expect(try await CLIRunner.run(["--db", first, "init"]).status == 0)
        let source = [
            #"{"id": "x1", "agent_id": "p", "content": "Booked the flight", "metadata": {"n": 1.50, "tags": ["a"]}, "created_at": "2026-11-01T10:00:00.123Z"}"#,
            #"{"id": "x2", "agent_id": "p", "content": "Paid the bill", "summary": "bill paid", "created_at": "2026-11-02T10:00:00Z"}"#,
            #"{"id": "y1", "agent_id": "q", "content": "Another agent's note"}"#,
        ].joined(separator: "\n")
        #expect(try await CLIRunner.run(["--db", first, "import", "-"], stdin: source).status == 0)
        #expect(try await CLIRunner.run(["--db", first, "update", "--agent", "p", "x1", "--metadata", #"{"seen": true}"#]).status == 0)
        let exported = try await CLIRunner.run(["--db", first, "export", "--vectors"])
        #expect(exported.status == 0, "\(exported.stderr)")
        #expect(try await CLIRunner.run(["--db", middle, "init"]).status == 0)
        let imported = try await CLIRunner.run(["--db", middle, "import", "-"], stdin: exported.stdout)
        #expect(imported.status == 0 && imported.stdout.contains("imported 3"), "\(imported.stderr)")
        let again = try await CLIRunner.run(["--db", middle, "export", "--vectors"])
        #expect(try await CLIRunner.run(["--db", last, "init"]).status == 0)
        #expect(try await CLIRunner.run(["--db", last, "import", "-"], stdin: again.stdout).status == 0)
        let final = try await CLIRunner.run(["--db", last, "export", "--vectors", "--agent", "p"])

        // Equal but for the cache timestamps (when each store received the vectors).
        func comparable(_ text: String) -> [NSDictionary] {
            Self.lines(text).map { line in
                var copy = line
                copy["embedding_cached_at"] = nil
                copy["fastembed_cached_at"] = nil
                return copy as NSDictionary
            }
        }
        let original = comparable(exported.stdout).filter { $0["agent_id"] as? String == "p" }
        #expect(original.count == 2)
        #expect(comparable(again.stdout).filter { $0["agent_id"] as? String == "p" } == original)
        #expect(comparable(final.stdout) == original)
        let patched = try #require(original.first { $0["id"] as? String == "x1" })
        #expect((patched["updated_at"] as? String ?? "") > (patched["created_at"] as? String ?? "~"))
        await drop()
        try? FileManager.default.removeItem(at: directory)
    }
}
