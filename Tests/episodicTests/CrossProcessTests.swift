import EpisodicMemory
import Foundation
import GRDB
import Testing
import VectorSearch

/// Two processes on one SQLite file: a child `episodic import` writing while this process reads
/// and writes; and a child killed with SIGKILL in the middle of a bulk import.
@Suite struct CrossProcessTests {
    static let dimension = 8

    /// A store with an 8-dimensional fast column and lines to import with explicit vectors.
    func prepare(_ directory: URL, lines count: Int, prefix: String, seed: UInt64) throws -> (
        db: String, file: URL, vectors: [(id: String, vector: [Float])]
    ) {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let db = directory.appendingPathComponent("shared.sqlite").path
        if !FileManager.default.fileExists(atPath: db) {
            let store = try SQLiteEpisodeStore(
                path: db,
                configuration: .init(
                    columns: [
                        VectorColumn(name: "vector_fastembed", role: .fast, dimension: Self.dimension, modelID: "test")
                    ], createIfMissing: true))
            _ = store
        }
        var state = seed
        var vectors: [(id: String, vector: [Float])] = []
        var text = ""
        for i in 0..<count {
            let v = (0..<Self.dimension).map { _ -> Float in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Float(Int64(bitPattern: state >> 11) % 1000) / 1000
            }
            let id = "\(prefix)-\(i)"
            vectors.append((id, v))
            text +=
                #"{"id": "\#(id)", "agent_id": "agent", "content": "episode \#(i)", "vectors": {"vector_fastembed": [\#(v.map { "\($0)" }.joined(separator: ","))]}}"#
            text += "\n"
        }
        let file = directory.appendingPathComponent("\(prefix).jsonl")
        try Data(text.utf8).write(to: file)
        return (db, file, vectors)
    }

    func bruteForce(_ vectors: [(id: String, vector: [Float])], _ query: [Float], _ k: Int) -> [String] {
        vectors.map { (id: $0.id, score: VectorKernels.dot($0.vector, query)) }
            .sorted { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }.prefix(k).map(\.id)
    }

    @Test func aChildProcessImportsWhileThisProcessReadsAndWrites() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("episodic-2p-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (db, file, childVectors) = try prepare(directory, lines: 6000, prefix: "child", seed: 1)
        let store = try SQLiteEpisodeStore(path: db)
        let query: [Float] = [0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.4, 0.6]

        let child = Process()
        child.executableURL = CLIRunner.binary
        child.arguments = ["--db", db, "import", file.path, "--batch-size", "200"]
        child.standardOutput = Pipe()
        child.standardError = Pipe()
        try child.run()
        // Meanwhile: this process writes its own episodes and searches, interleaved with the child.
        var mine: [(id: String, vector: [Float])] = []
        var searches = 0
        while child.isRunning || searches < 5 {
            let i = mine.count
            let v = (0..<Self.dimension).map { Float(($0 * 7 + i * 3) % 11) / 11 }
            try await store.add(Episode(id: "parent-\(i)", agentID: "agent", content: "mine \(i)"), vectors: ["vector_fastembed": v])
            mine.append(("parent-\(i)", v))
            let hits = try await store.similaritySearch(vector: query, column: "vector_fastembed", topK: 20, agentID: "agent")
            let available = try store.index(column: "vector_fastembed").count(agentID: "agent")
            #expect(hits.count == min(20, available))
            searches += 1
        }
        #expect(await child.exit(within: 300), "the importing child did not finish within 300 s")
        #expect(child.terminationStatus == 0)
        // Everything either process wrote is visible here, and search is exact over all of it.
        let all = childVectors + mine
        #expect(try await store.stats().episodes == all.count)
        #expect(
            try await store.similaritySearch(vector: query, column: "vector_fastembed", topK: 100, agentID: "agent").map(\.episodeID)
                == bruteForce(all, query, 100))
        #expect(searches >= 5)
    }

    @Test func sigkillInTheMiddleOfABulkImportLosesNoCommittedEpisode() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("episodic-kill-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let total = 40_000
        let (db, file, vectors) = try prepare(directory, lines: total, prefix: "k", seed: 2)
        let child = Process()
        child.executableURL = CLIRunner.binary
        child.arguments = ["--db", db, "import", file.path, "--batch-size", "100"]
        let errors = Pipe()
        child.standardError = errors
        child.standardOutput = Pipe()
        try child.run()
        // Progress lines ("imported N/M, …") come after each committed batch: kill after a few.
        let log = await child.send(SIGKILL, once: errors.fileHandleForReading) { CLIRunner.importedCount(in: $0) >= 1000 }
        let reported = CLIRunner.importedCount(in: log)
        _ = await child.exit(within: 30)
        #expect(child.terminationReason == .uncaughtSignal)
        #expect(reported >= 1000)

        // The database opens, passes integrity_check, and holds whole batches only: a prefix of
        // the file at least as long as what the child reported committed.
        let queue = try DatabaseQueue(path: db)
        let (integrity, ids) = try await queue.read { db in
            (try String.fetchAll(db, sql: "PRAGMA integrity_check"), try String.fetchAll(db, sql: "SELECT id FROM episodes"))
        }
        try queue.close()
        #expect(integrity == ["ok"])
        #expect(ids.count >= reported && ids.count < total)
        #expect(ids.count % 100 == 0)
        #expect(Set(ids) == Set(vectors.prefix(ids.count).map(\.id)))
        let store = try SQLiteEpisodeStore(path: db)
        let query: [Float] = [0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]
        #expect(
            try await store.similaritySearch(vector: query, column: "vector_fastembed", topK: 50, agentID: "agent").map(\.episodeID)
                == bruteForce(Array(vectors.prefix(ids.count)), query, 50))
    }
}
