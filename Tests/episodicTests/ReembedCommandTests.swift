import EpisodicMemory
import Foundation
import TestSupport
import Testing

/// `episodic reembed` through real processes: a column switched to another model, interrupted
/// and resumed.
@Suite struct ReembedCommandTests {
    @Test func aColumnIsReembeddedWithAnotherModelAfterAnInterruption() async throws {
        let tmp = try TemporaryDirectory("episodic-reembed")
        defer { tmp.remove() }
        let db = tmp.path("m.sqlite")
        func run(_ args: [String]) async throws -> CLIRunner.Result { try await CLIRunner.run(["--db", db] + args) }
        // Quality column first on all-MiniLM-L6-v2 (384), then moved to all-mpnet-base-v2 (768).
        #expect(try await run(["init", "--quality-model", "all-MiniLM-L6-v2"]).status == 0)
        let lines = (0..<300).map {
            #"{"id": "e\#($0)", "agent_id": "a", "content": "Episode \#($0): the user asked about invoice \#($0 * 13) and the Lisbon trip."}"#
        }
        let file = tmp.url.appendingPathComponent("in.jsonl")
        try Data(lines.joined(separator: "\n").utf8).write(to: file)
        #expect(try await run(["import", file.path]).status == 0)

        // Killed after its first committed batches.
        let child = Process()
        child.executableURL = CLIRunner.binary
        child.arguments = ["--db", db, "reembed", "--column", "quality", "--model", "all-mpnet-base-v2", "--batch-size", "8"]
        let errors = Pipe()
        child.standardError = errors
        child.standardOutput = Pipe()
        try child.run()
        _ = await child.send(SIGKILL, once: errors.fileHandleForReading) { $0.contains("re-embedding vector 24") }
        _ = await child.exit(within: 30)
        #expect(child.terminationReason == .uncaughtSignal)
        // The column is unchanged: searches still use the old model.
        let before = try await EpisodicMemory.open(
            db,
            configuration: {
                var c = EpisodicMemory.Configuration(); c.readOnly = true; return c
            }())
        #expect(before.column(role: .quality)?.dimension == 384)
        await before.close()

        // The rerun resumes: it computes only the vectors still missing, then switches the column.
        let resumed = try await run(["reembed", "--column", "quality", "--model", "all-mpnet-base-v2", "--batch-size", "8"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let computed = Int(resumed.stdout.split(separator: " ").dropFirst().first ?? "") ?? -1
        #expect(computed > 0 && computed < 300, "\(resumed.stdout)")
        #expect(resumed.stdout.contains("now 768-dimensional sentence-transformers/all-mpnet-base-v2"))
        let stats = try await run(["stats", "--json"])
        let columns =
            (try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])?["columns"] as? [[String: Any]] ?? []
        let quality = try #require(columns.first { $0["role"] as? String == "quality" })
        #expect(quality["dimension"] as? Int == 768 && quality["vectors"] as? Int == 300)
        let retrieved = try await run(["retrieve", "--agent", "a", "--query", "invoice 130", "--json"])
        #expect(retrieved.status == 0 && retrieved.stdout.contains("\"fallback_reason\":null"), "\(retrieved.stderr)")
        // Nothing left to do.
        #expect(
            try await run(["reembed", "--column", "quality", "--model", "all-mpnet-base-v2"]).stdout.hasPrefix("vector: 0 vectors computed")
        )
    }
}
