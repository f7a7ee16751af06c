import Foundation
import Testing
@testable import EpisodeStore
import VectorSearch

/// Readers and writers at once: threads sharing a store, and two stores on the same file (two
/// connections pools, as two processes would have) that must see each other's writes.
@Suite struct ConcurrencyTests {
    static let column = VectorColumn(name: "vector_fastembed", role: .fast, dimension: 16, modelID: "m")

    @Test func readersAndWritersOnTwoStoresOfOneFile() async throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        let writerStore = try tmp.open(columns: [Self.column])
        let otherStore = try tmp.open(columns: [])
        var random = SeededRandom(state: 99)
        let batches: [[(episode: Episode, vectors: [String: [Float]])]] = (0..<20).map { b in
            (0..<50).map { i in
                let id = "w-\(b)-\(i)"
                return (Episode(id: id, agentID: "agent", content: "episode \(id)"), ["vector_fastembed": random.unitVector(16)])
            }
        }
        let seedQuery = random.unitVector(16)
        try writerStore.add(Episode(id: "seed", agentID: "agent", content: "first"), vectors: ["vector_fastembed": seedQuery])

        try await withThrowingTaskGroup(of: Void.self) { group in
            // One writer on each store (SQLite serializes them through its lock).
            group.addTask { for batch in batches.prefix(10) { try writerStore.add(batch) } }
            group.addTask { for batch in batches.suffix(10) { try otherStore.add(batch) } }
            // Readers on both stores, searching while the writes land.
            for reader in 0..<4 {
                let store = reader % 2 == 0 ? writerStore : otherStore
                group.addTask {
                    for _ in 0..<100 {
                        let hits = try store.similaritySearch(vector: seedQuery, column: "vector_fastembed", topK: 10, agentID: "agent")
                        // The seed is the query itself: it is always the best hit.
                        #expect(hits.first?.episodeID == "seed")
                        #expect(hits.count <= 10)
                    }
                }
            }
            try await group.waitForAll()
        }
        // Afterwards both stores hold all 1,001 episodes and agree with brute force.
        var all = batches.joined().map { (id: $0.episode.id, vector: $0.vectors["vector_fastembed"]!) }
        all.append(("seed", seedQuery))
        let query = random.unitVector(16)
        let expected = bruteForce(all, query: query, k: 100)
        for store in [writerStore, otherStore] {
            #expect(try store.stats().episodes == 1001)
            #expect(try store.similaritySearch(vector: query, column: "vector_fastembed", topK: 100, agentID: "agent").map(\.episodeID) == expected)
        }
        // A delete on one store disappears from the other's index.
        try otherStore.delete(id: expected[0])
        #expect(try writerStore.similaritySearch(vector: query, column: "vector_fastembed", topK: 1, agentID: "agent").first?.episodeID == expected[1])
    }

    @Test func aStoreFarBehindThePrunedChangeLogReloads() throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        let config = StoreConfiguration(columns: [Self.column], createIfMissing: true, changeLogRetention: 1000)
        let behind = try SQLiteEpisodeStore(path: tmp.path, configuration: config)
        var random = SeededRandom(state: 5)
        var all: [(id: String, vector: [Float])] = []
        // Another store writes 3,000 vectors; a third open prunes the log past `behind`'s position.
        do {
            let writer = try SQLiteEpisodeStore(path: tmp.path, configuration: config)
            for b in 0..<3 {
                try writer.add((0..<1000).map { i in
                    let v = random.unitVector(16)
                    all.append(("p-\(b)-\(i)", v))
                    return (Episode(id: "p-\(b)-\(i)", agentID: "x", content: "c"), ["vector_fastembed": v])
                })
            }
        }
        _ = try SQLiteEpisodeStore(path: tmp.path, configuration: config)
        let query = random.unitVector(16)
        #expect(try behind.similaritySearch(vector: query, column: "vector_fastembed", topK: 50, agentID: "x").map(\.episodeID)
                == bruteForce(all, query: query, k: 50))
    }
}
