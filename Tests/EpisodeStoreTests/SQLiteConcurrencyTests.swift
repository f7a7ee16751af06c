import Foundation
import TestSupport
import Testing
import TextEmbedding
import VectorSearch

@testable import EpisodeStore

/// Readers and writers at once: tasks sharing a store, and two stores on one file (two
/// connection pools, as two processes would have) that see each other's writes at once.
@Suite struct SQLiteConcurrencyTests {
    static let column = VectorColumn(name: "vector_fastembed", role: .fast, dimension: 16, modelID: "m")

    @Test func readersAndWritersOnTwoStoresOfOneFile() async throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        let writerStore = try tmp.open(columns: [Self.column])
        let otherStore = try tmp.open(columns: [])
        var random = SeededRandom(state: 99)
        let batches: [[NewEpisode]] = (0..<20).map { b in
            (0..<50).map { i in
                let id = "w-\(b)-\(i)"
                return NewEpisode(
                    Episode(id: id, agentID: "agent", content: "episode \(id)"), vectors: ["vector_fastembed": random.unitVector(16)])
            }
        }
        let seedQuery = random.unitVector(16)
        try await writerStore.add(Episode(id: "seed", agentID: "agent", content: "first"), vectors: ["vector_fastembed": seedQuery])

        try await withThrowingTaskGroup(of: Void.self) { group in
            // One writer on each store (SQLite serializes them through its lock).
            group.addTask { for batch in batches.prefix(10) { try await writerStore.add(batch) } }
            group.addTask { for batch in batches.suffix(10) { try await otherStore.add(batch) } }
            // Readers on both stores, searching while the writes land.
            for reader in 0..<4 {
                let store = reader % 2 == 0 ? writerStore : otherStore
                group.addTask {
                    for _ in 0..<100 {
                        let hits = try await store.similaritySearch(
                            vector: seedQuery, column: "vector_fastembed", topK: 10, agentID: "agent")
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
            #expect(try await store.stats().episodes == 1001)
            #expect(
                try await store.similaritySearch(vector: query, column: "vector_fastembed", topK: 100, agentID: "agent").map(\.episodeID)
                    == expected)
        }
        // A delete on one store disappears from the other's index at once.
        try await otherStore.delete(agentID: "agent", id: expected[0])
        #expect(
            try await writerStore.similaritySearch(vector: query, column: "vector_fastembed", topK: 1, agentID: "agent").first?.episodeID
                == expected[1])
        await writerStore.close()
        await otherStore.close()
    }

    @Test func aStoreFarBehindThePrunedChangeLogReloads() async throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        let config = SQLiteStoreConfiguration(columns: [Self.column], createIfMissing: true, changeLogRetention: 1000)
        let behind = try SQLiteEpisodeStore(path: tmp.path, configuration: config)
        try await behind.prepareForSearch()
        var random = SeededRandom(state: 5)
        var all: [(id: String, vector: [Float])] = []
        // Another store writes 3,000 vectors; a third open prunes the log past `behind`'s position.
        do {
            let writer = try SQLiteEpisodeStore(path: tmp.path, configuration: config)
            for b in 0..<3 {
                try await writer.add(
                    (0..<1000).map { i in
                        let v = random.unitVector(16)
                        all.append(("p-\(b)-\(i)", v))
                        return NewEpisode(Episode(id: "p-\(b)-\(i)", agentID: "x", content: "c"), vectors: ["vector_fastembed": v])
                    })
            }
            await writer.close()
        }
        await (try SQLiteEpisodeStore(path: tmp.path, configuration: config)).close()
        let query = random.unitVector(16)
        #expect(
            try await behind.similaritySearch(vector: query, column: "vector_fastembed", topK: 50, agentID: "x").map(\.episodeID)
                == bruteForce(all, query: query, k: 50))
        #expect(behind.follower.reloads == 1)
        await behind.close()
    }

    /// A store's own write that a search's catch-up has already read from the log (a search
    /// running between the write's commit and its index update) is not applied again. It once
    /// reloaded every index instead, emptying them under the searches running meanwhile: under
    /// load, `readersAndWritersOnTwoStoresOfOneFile` saw a search return nothing.
    @Test func anOwnWriteAlreadyReadFromTheLogIsLeftAlone() async throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        let store = try tmp.open(columns: [Self.column])
        let other = try tmp.open(columns: [])
        var random = SeededRandom(state: 12)
        let seed = random.unitVector(16), new = random.unitVector(16)
        try await store.add(Episode(id: "seed", agentID: "a", content: "c"), vectors: ["vector_fastembed": seed])
        try await store.prepareForSearch()
        // A write committed to the file (by the other store here: the log is the same)…
        let before = try store.read { try SQLiteIndexFollower.lastChange($0) }
        try await other.add(Episode(id: "new", agentID: "a", content: "c"), vectors: ["vector_fastembed": new])
        let after = try store.read { try SQLiteIndexFollower.lastChange($0) }
        #expect(after > before)
        // …read from the log by a search's catch-up, then offered as this store's own effects.
        try store.follower.catchUp()
        let effect = IndexEffect(column: "vector_fastembed", agentID: "a", episodeID: "new", vector: new)
        try store.follower.applyOwnWrite([effect], after: before, through: after)
        #expect(store.follower.reloads == 0)
        let hits = try await store.similaritySearch(vector: new, column: "vector_fastembed", topK: 2, agentID: "a")
        #expect(hits.map(\.episodeID) == bruteForce([("seed", seed), ("new", new)], query: new, k: 2))
        await store.close()
        await other.close()
    }

    @Test func ownWritesReachTheIndexWithoutReadingThemBack() async throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        let store = try tmp.open(columns: [Self.column])
        let other = try tmp.open(columns: [])
        var random = SeededRandom(state: 8)
        try await store.add(Episode(id: "a0", agentID: "a", content: "c"), vectors: ["vector_fastembed": random.unitVector(16)])
        try await store.prepareForSearch()
        try await other.prepareForSearch()
        // Interleaved writes of two stores: each index ends equal to brute force over the file.
        var all: [(id: String, vector: [Float])] = []
        for i in 0..<40 {
            let v = random.unitVector(16)
            all.append(("i\(i)", v))
            try await (i % 2 == 0 ? store : other).add(Episode(id: "i\(i)", agentID: "b", content: "c"), vectors: ["vector_fastembed": v])
            if i % 5 == 0 {
                try await store.delete(agentID: "b", id: "i\(i)")
                all.removeAll { $0.id == "i\(i)" }
            }
        }
        let query = random.unitVector(16)
        for s in [store, other] {
            #expect(
                try await s.similaritySearch(vector: query, column: "vector_fastembed", topK: 40, agentID: "b").map(\.episodeID)
                    == bruteForce(all, query: query, k: 40))
        }
        await store.close()
        await other.close()
    }

    /// Search over real all-MiniLM-L6-v2 embeddings (clustered, with near ties) equals brute force.
    @Test func miniLMEmbeddingsOfAChatCorpus() async throws {
        let model = try SentenceEmbedder(directory: Fixtures.miniLM)
        // 800 messages of one persona, one agent: above the exact-scan limit, so the int8 pass and
        // its bounds are exercised on real vectors.
        let corpus = try String(contentsOf: Fixtures.url("cri_persona1_800.jsonl"), encoding: .utf8)
        let texts = corpus.split(separator: "\n").compactMap { line -> String? in
            (try? JSONParser().parse(Array(line.utf8)))?.objectValue?["text"]?.stringValue
        }
        #expect(texts.count == 800)
        let vectors = try model.embed(texts)
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        let store = try tmp.open(columns: [VectorColumn(name: "vector_fastembed", role: .fast, dimension: 384, modelID: "all-MiniLM-L6-v2")]
        )
        try await store.add(
            zip(texts.indices, vectors).map { i, v in
                NewEpisode(Episode(id: String(format: "m%04d", i), agentID: "persona", content: texts[i]), vectors: ["vector_fastembed": v])
            })
        let all = vectors.enumerated().map { (id: String(format: "m%04d", $0.offset), vector: $0.element) }
        for query in ["what does she like to eat?", "job interview", "her sister's wedding", "running a marathon", "cat"] {
            let q = try model.embed(query, as: .query)
            let hits = try await store.similaritySearch(vector: q, column: "vector_fastembed", topK: 100, agentID: "persona")
            #expect(hits.map(\.episodeID) == bruteForce(all, query: q, k: 100), "\(query)")
        }
        await store.close()
    }
}
