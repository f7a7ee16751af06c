import EpisodicMemory
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `episodic serve` as a process: it prints its address, answers, and on SIGTERM lets the
/// request in flight finish before exiting cleanly.
@Suite struct ServeCommandTests {
    @Test func anImpossibleMemoryBudgetIsRefusedBeforeAnythingOpens() async throws {
        for value in ["-1", "2000000000"] {
            let result = try await CLIRunner.run(["--db", "/nonexistent/m.sqlite", "serve", "--lexical-memory-mb=\(value)"])
            #expect(result.status == 64)
            #expect(result.stderr.contains("--lexical-memory-mb must be between 0 and"), "\(result.stderr)")
        }
    }

    @Test func sigtermLetsTheRequestInFlightFinish() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("episodic-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let db = directory.appendingPathComponent("m.sqlite").path
        #expect(try await CLIRunner.run(["--db", db, "init", "--quality-model", "all-mpnet-base-v2"]).status == 0)

        let server = Process()
        server.executableURL = CLIRunner.binary
        server.arguments = ["--db", db, "serve", "--port", "0", "--preload"]
        // Debug logs announce each request as it starts: SIGTERM is sent once the POST is in flight.
        server.environment = ProcessInfo.processInfo.environment.merging(["EPISODIC_LOG_LEVEL": "debug"]) { $1 }
        let output = Pipe(), errors = Pipe()
        server.standardOutput = output
        server.standardError = errors
        try server.run()
        var buffer = ""
        for await chunk in output.fileHandleForReading.chunks() {
            buffer += String(decoding: chunk, as: UTF8.self)
            if buffer.contains("listening on ") { break }
        }
        let base = try #require(buffer.split(separator: "\n").first { $0.hasPrefix("listening on ") }?.dropFirst("listening on ".count))
        #expect(base.hasPrefix("http://127.0.0.1:"))

        // A batch that takes a few seconds to embed with both models.
        let episodes = (0..<96).map {
            ["content": "Episode \($0): the agent reviewed ticket \(1000 + $0) about the checkout page and replied to the customer."]
        }
        var request = URLRequest(url: URL(string: "\(base)/agents/a/episodes")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: ["episodes": episodes])
        request.timeoutInterval = 300
        let inFlight = Task { try await URLSession.shared.data(for: request) }
        _ = await server.send(SIGTERM, once: errors.fileHandleForReading) {
            $0.contains("request started") && $0.contains("/agents/a/episodes")
        }
        let (data, response) = try await inFlight.value
        #expect((response as? HTTPURLResponse)?.statusCode == 201)
        let ids = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["ids"] as? [String] ?? []
        #expect(ids.count == 96)
        #expect(await server.exit(within: 60), "the server did not exit within 60 s of SIGTERM")
        #expect(server.terminationReason == .exit && server.terminationStatus == 0)
        // Everything acknowledged is in the store, with both vectors.
        let stats = try await EpisodicMemory.open(db).stats()
        #expect(stats.episodes == 96)
        #expect(stats.columns.map(\.vectors) == [96, 96])
        // And the server is gone: new connections are refused.
        var probe = URLRequest(url: URL(string: "\(base)/health")!)
        probe.timeoutInterval = 5
        await #expect(throws: (any Error).self) { try await URLSession.shared.data(for: probe) }
    }
}
