import Foundation
import GRDB
import Testing
@testable import EpisodeStore
import VectorSearch

/// Episodes, vector columns and search on real SQLite files.
@Suite struct StoreTests {
    @Test func addGetDeleteWithVectorsAndCacheFlags() throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        let store = try tmp.open()
        let episode = Episode(id: "e1", agentID: "a", content: "booked a flight", summary: "flight booked",
                              metadata: ["tags": .array([.string("travel")]), "score": .number(0.5), "ok": .bool(true)])
        let fast = [Float](repeating: 0.25, count: 8)
        let stored = try store.add(episode, vectors: ["vector_fastembed": fast])
        #expect(stored.fastembedCached && stored.fastembedCachedAt != nil)
        #expect(!stored.embeddingCached && stored.embeddingCachedAt == nil)
        let read = try #require(try store.episode(id: "e1"))
        #expect(read == stored)
        #expect(read.embeddedText == "flight booked")
        #expect(read.metadata["ok"] == .bool(true) && read.metadata["score"] == .number(0.5))
        #expect(try store.vector(column: "vector_fastembed", episodeID: "e1") == fast)

        try store.setVector([Float](repeating: 0.1, count: 12), column: "vector", episodeID: "e1")
        #expect(try store.episode(id: "e1")?.embeddingCached == true)
        #expect(try store.deleteVector(column: "vector", episodeID: "e1"))
        let afterDelete = try #require(try store.episode(id: "e1"))
        #expect(!afterDelete.embeddingCached && afterDelete.embeddingCachedAt == nil)

        #expect(try store.delete(id: "e1"))
        #expect(try store.episode(id: "e1") == nil)
        #expect(try !store.delete(id: "e1"))
        // The episode's vectors went with it, from the table and the index.
        let queue = try DatabaseQueue(path: tmp.path)
        #expect(try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM episode_vectors") } == 0)
        #expect(try store.index(column: "vector_fastembed").count == 0)
    }

    @Test func dimensionAndNaNErrorsNameTheColumnAndStoreNothing() throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        let store = try tmp.open()
        #expect(throws: StoreError.vector(.dimensionMismatch(column: "vector_fastembed", expected: 8, actual: 3))) {
            try store.add(Episode(id: "x", agentID: "a", content: "c"), vectors: ["vector_fastembed": [1, 2, 3]])
        }
        var nan = [Float](repeating: 0, count: 12)
        nan[4] = .nan
        #expect(throws: StoreError.vector(.nonFiniteValue(column: "vector", index: 4))) {
            try store.add(Episode(id: "x", agentID: "a", content: "c"), vectors: ["vector": nan])
        }
        nan[4] = .infinity
        #expect(throws: StoreError.vector(.nonFiniteValue(column: "vector", index: 4))) {
            try store.similaritySearch(vector: nan, column: "vector", topK: 3, agentID: "a")
        }
        #expect(throws: StoreError.vector(.unknownColumn("embedding"))) {
            try store.add(Episode(id: "x", agentID: "a", content: "c"), vectors: ["embedding": [1]])
        }
        #expect(throws: StoreError.vector(.dimensionMismatch(column: "vector", expected: 12, actual: 8))) {
            try store.similaritySearch(vector: [Float](repeating: 0, count: 8), column: "vector", topK: 3, agentID: "a")
        }
        // A batch with one bad vector stores nothing at all.
        #expect(throws: StoreError.self) {
            try store.add([(Episode(id: "ok", agentID: "a", content: "fine"), ["vector_fastembed": [Float](repeating: 0, count: 8)]),
                           (Episode(id: "bad", agentID: "a", content: "bad"), ["vector_fastembed": [0]])])
        }
        #expect(try store.episode(id: "ok") == nil && store.episode(id: "x") == nil)
        // The database refuses a wrong length from any writer, not only through this API.
        let queue = try DatabaseQueue(path: tmp.path)
        try queue.write { db in try db.execute(sql: "INSERT INTO episodes(id, agent_id, content, created_at) VALUES ('raw', 'a', 'c', '2024-01-01')") }
        #expect(throws: DatabaseError.self) {
            try queue.write { db in
                try db.execute(sql: "INSERT INTO episode_vectors(episode_id, column_name, vector) VALUES ('raw', 'vector', ?)",
                               arguments: [Data(count: 7 * 4)])
            }
        }
    }

    @Test func invalidEpisodesAreTypedErrors() throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        let store = try SQLiteEpisodeStore(path: tmp.path, configuration: .init(columns: [TemporaryStore.fast], createIfMissing: true, maxTextBytes: 100))
        func reason(_ episode: Episode) -> String? {
            do { try store.add(episode); return nil } catch let StoreError.invalidEpisode(_, reason) { return reason } catch { return "\(error)" }
        }
        #expect(throws: StoreError.textTooLarge(id: "big", field: "content", bytes: 101, limit: 100)) {
            try store.add(Episode(id: "big", agentID: "a", content: String(repeating: "x", count: 101)))
        }
        #expect(reason(Episode(agentID: "a", content: "  \n ")) == "content is empty")
        #expect(reason(Episode(agentID: "", content: "c")) == "agent_id is empty")
        #expect(reason(Episode(id: "bad\u{7}id", agentID: "a", content: "c")) == "id contains control characters")
        #expect(reason(Episode(agentID: "a", content: "c", summary: "")) == "summary is empty (omit it instead)")
        try store.add(Episode(id: "same", agentID: "a", content: "first"))
        #expect(throws: StoreError.duplicateEpisode("same")) { try store.add(Episode(id: "same", agentID: "a", content: "second")) }
        #expect(try store.episode(id: "same")?.content == "first")
        #expect(throws: StoreError.episodeNotFound("nope")) { try store.setVector([Float](repeating: 0, count: 8), column: "vector_fastembed", episodeID: "nope") }
    }

    @Test func columnsAreFixedWhenTheStoreIsCreated() throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        _ = try tmp.open()
        let wider = VectorColumn(name: "vector_fastembed", role: .fast, dimension: 16, modelID: "other")
        #expect(throws: StoreError.columnMismatch(name: "vector_fastembed", recorded: "fast, 8 dimensions", requested: "fast, 16 dimensions")) {
            try tmp.open(columns: [wider])
        }
        let reopened = try tmp.open(columns: [])
        #expect(reopened.columns.map(\.dimension).sorted() == [8, 12])
        #expect(try reopened.column(named: "vector").modelSHA256 == "bb")
    }

    @Test func paginationIsNewestFirst() throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        let store = try tmp.open()
        let base = Date(timeIntervalSince1970: 1_700_000_000)
        for i in 0..<25 {
            try store.add(Episode(id: String(format: "e%02d", i), agentID: "a", content: "episode \(i)",
                                  createdAt: base.addingTimeInterval(Double(i / 2))))
        }
        try store.add(Episode(agentID: "other", content: "not mine"))
        var seen: [String] = []
        var last: Episode?
        repeat {
            let page = try store.episodes(agentID: "a", limit: 10, after: last)
            seen += page.map(\.id)
            last = page.count == 10 ? page.last : nil
        } while last != nil
        #expect(seen == (0..<25).reversed().map { String(format: "e%02d", $0) })
        #expect(try store.agentEpisodeCounts() == ["a": 25, "other": 1])
    }

    @Test func searchEqualsBruteForceAcrossAgentsAndAfterReopening() throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        let column = VectorColumn(name: "vector_fastembed", role: .fast, dimension: 32, modelID: "m")
        var random = SeededRandom(state: 17)
        var byAgent: [String: [(id: String, vector: [Float])]] = [:]
        do {
            let store = try tmp.open(columns: [column])
            var batch: [(episode: Episode, vectors: [String: [Float]])] = []
            for i in 0..<3000 {
                let agent = i % 3 == 0 ? "big" : "small-\(i % 7)"
                let v = random.unitVector(32)
                byAgent[agent, default: []].append(("ep-\(i)", v))
                batch.append((Episode(id: "ep-\(i)", agentID: agent, content: "text \(i)"), ["vector_fastembed": v]))
            }
            try store.add(batch)
            let query = random.unitVector(32)
            for (agent, vectors) in byAgent {
                let hits = try store.similaritySearch(vector: query, column: "vector_fastembed", topK: 100, agentID: agent)
                #expect(hits.count == min(100, vectors.count))
                #expect(hits.map(\.episodeID) == bruteForce(vectors, query: query, k: 100))
            }
            #expect(throws: StoreError.unknownAgent("nobody")) {
                try store.similaritySearch(vector: query, column: "vector_fastembed", topK: 5, agentID: "nobody")
            }
        }
        // Reopened: the index is rebuilt from the file and gives the same answers.
        let store = try tmp.open(columns: [])
        let query = random.unitVector(32)
        #expect(try store.similaritySearch(vector: query, column: "vector_fastembed", topK: 100, agentID: "big").map(\.episodeID)
                == bruteForce(byAgent["big"]!, query: query, k: 100))
        // An agent with episodes but no vectors in the column is known: empty, not an error.
        try store.add(Episode(agentID: "novectors", content: "x"))
        #expect(try store.similaritySearch(vector: query, column: "vector_fastembed", topK: 5, agentID: "novectors").isEmpty)
    }
}
