import EpisodicMemory
import Foundation
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Many stateless servers over one PostgreSQL: `episodic serve` twice, as processes, on one store.
@Suite struct PostgresServersTests {
    /// A running `episodic serve` on 127.0.0.1 and a free port.
    final class Server: @unchecked Sendable {
        let process = Process()
        let base: String

        init(db: String) async throws {
            process.executableURL = CLIRunner.binary
            process.arguments = ["--db", db, "serve", "--port", "0", "--time-budget-ms", "0"]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            var buffer = ""
            for await chunk in output.fileHandleForReading.chunks() {
                buffer += String(decoding: chunk, as: UTF8.self)
                if buffer.contains("listening on ") { break }
            }
            guard let line = buffer.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }) else {
                throw CocoaError(.fileReadUnknown)
            }
            base = String(line.dropFirst("listening on ".count))
        }

        func request(_ method: String, _ path: String, _ body: Any? = nil) async throws -> (Int, [String: Any]) {
            var request = URLRequest(url: URL(string: base + path)!)
            request.httpMethod = method
            request.timeoutInterval = 120
            if let body {
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                request.httpBody = try JSONSerialization.data(withJSONObject: body)
            }
            let (data, response) = try await URLSession.shared.data(for: request)
            return (
                (response as? HTTPURLResponse)?.statusCode ?? 0, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
            )
        }

        /// SIGINT, then the graceful shutdown must end within 30 s (else the test fails).
        func stop() async {
            if process.isRunning { process.interrupt() }
            let exited = await process.exit(within: 30)
            #expect(exited, "episodic serve did not exit within 30 s of SIGINT")
        }
    }

    @Test func aWriteOnOneServerIsReadOnTheOtherAndADeleteIsSeenAtOnce() async throws {
        let (url, schema) = try PostgresTestDatabase.url()
        defer { Task { await PostgresTestDatabase.drop(schema: schema) } }
        #expect(try await CLIRunner.run(["--db", url, "init", "--quality-model", "all-mpnet-base-v2"]).status == 0)
        let one = try await Server(db: url), two = try await Server(db: url)
        do { try await exchange(one, two) } catch { Issue.record(error) }
        await one.stop()
        await two.stop()
    }

    /// A write on `one` read on `two`, a delete on `two` seen on `one`.
    func exchange(_ one: Server, _ two: Server) async throws {
        let (created, ids) = try await one.request(
            "POST", "/agents/planner/episodes",
            [
                "episodes": [
                    ["id": "flight", "content": "Booked flight TP1355 to Lisbon, Friday 9:10, seat 14A"],
                    ["id": "food", "content": "Alice prefers vegetarian restaurants"],
                ]
            ])
        #expect(created == 201 && (ids["ids"] as? [String]) == ["flight", "food"])
        // At once on the other server: get, list, and both retrievals.
        #expect(try await two.request("GET", "/agents/planner/episodes/flight").0 == 200)
        let hybrid = try await two.request(
            "POST", "/agents/planner/retrieve-hybrid", ["query": "which seat do I have to Lisbon?", "limit": 2])
        let first = ((hybrid.1["results"] as? [[String: Any]])?.first?["episode"] as? [String: Any])?["id"] as? String
        #expect(hybrid.0 == 200 && first == "flight" && hybrid.1["fallback_reason"] is NSNull)
        // A delete on the second is gone from the first at once, from every path.
        #expect(try await two.request("DELETE", "/agents/planner/episodes/flight").0 == 200)
        #expect(try await one.request("GET", "/agents/planner/episodes/flight").0 == 404)
        let after = try await one.request("POST", "/agents/planner/retrieve-hybrid", ["query": "which seat do I have to Lisbon?"])
        let remaining = (after.1["results"] as? [[String: Any]] ?? []).compactMap { ($0["episode"] as? [String: Any])?["id"] as? String }
        #expect(after.0 == 200 && remaining == ["food"])
        let baseline = try await one.request("POST", "/agents/planner/retrieve-baseline", ["query": "Lisbon seat"])
        #expect((baseline.1["results"] as? [[String: Any]] ?? []).count == 1)
    }

    /// Writes in flight when a server is killed with SIGKILL: every acknowledged one is stored.
    @Test(arguments: ["sqlite", "postgres"])
    func aServerKilledMidWriteLosesNothingAcknowledged(_ backend: String) async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let (url, schema) = backend == "postgres" ? try PostgresTestDatabase.url() : (tmp.path("m.sqlite"), "")
        defer { if !schema.isEmpty { Task { await PostgresTestDatabase.drop(schema: schema) } } }
        #expect(
            try await CLIRunner.run([
                "--db", url, "init", "--fast-model", "tiny", "--fast-dim", "8", "--quality-model", "q", "--quality-dim", "4",
            ]).status == 0)
        let server = try await Server(db: url)
        let acknowledged = Recorder<String>()
        let writers = (0..<4).map { writer in
            Task {
                var random = SeededRandom(state: UInt64(writer + 1))
                for i in 0..<10_000 {
                    let id = "w\(writer)-\(i)"
                    let body: [String: Any] = [
                        "id": id, "content": "write \(i)",
                        "vectors": ["vector_fastembed": random.unitVector(8), "vector": random.unitVector(4)],
                    ]
                    guard let (status, _) = try? await server.request("POST", "/agents/a/episodes", body) else { return }
                    if status == 201 { acknowledged.record(id) }
                }
            }
        }
        // Until 200 writes are acknowledged — or the writers have given up (the server failed).
        let waitStarted = Date()
        while acknowledged.values.count < 200 && Date().timeIntervalSince(waitStarted) < 300 {
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        #expect(acknowledged.values.count >= 200, "only \(acknowledged.values.count) writes acknowledged in 300 s")
        kill(server.process.processIdentifier, SIGKILL)
        _ = await server.process.exit(within: 30)
        for writer in writers { _ = await writer.value }
        let acked = acknowledged.values
        let memory = try await EpisodicMemory.open(url)
        let stored = try await memory.existingIDs(agentID: "a", among: acked)
        #expect(stored.count == acked.count, "\(acked.count - stored.count) acknowledged writes lost")
        await memory.close()
    }

    @Test func sigkillDuringAnImportLosesNoCommittedBatch() async throws {
        let (url, schema) = try PostgresTestDatabase.url()
        defer { Task { await PostgresTestDatabase.drop(schema: schema) } }
        #expect(
            try await CLIRunner.run([
                "--db", url, "init", "--fast-model", "tiny", "--fast-dim", "8", "--quality-model", "q", "--quality-dim", "4",
            ]).status == 0)
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        var random = SeededRandom(state: 3)
        let total = 20_000
        var text = ""
        for i in 0..<total {
            let v = random.unitVector(8).map { "\($0)" }.joined(separator: ",")
            text += #"{"id": "k\#(i)", "agent_id": "agent", "content": "episode \#(i)", "vectors": {"vector_fastembed": [\#(v)]}}"# + "\n"
        }
        let file = tmp.url.appendingPathComponent("in.jsonl")
        try Data(text.utf8).write(to: file)
        let child = Process()
        child.executableURL = CLIRunner.binary
        child.arguments = ["--db", url, "import", file.path, "--batch-size", "100", "--quality", "defer"]
        let errors = Pipe()
        child.standardError = errors
        child.standardOutput = Pipe()
        try child.run()
        let log = await child.send(SIGKILL, once: errors.fileHandleForReading) { CLIRunner.importedCount(in: $0) >= 1000 }
        let reported = CLIRunner.importedCount(in: log)
        _ = await child.exit(within: 30)
        #expect(child.terminationReason == .uncaughtSignal && reported >= 1000)
        let memory = try await EpisodicMemory.open(url)
        let count = try await memory.stats().episodes
        #expect(count >= reported && count < total && count % 100 == 0, "\(count) after \(reported) reported")
        let prefix = Set((0..<count).map { "k\($0)" })
        #expect(try await memory.existingIDs(agentID: "agent", among: Array(prefix)).count == count)
        await memory.close()
    }
}
