import Foundation
import GRDB
import Testing
@testable import EpisodeStore
import VectorSearch

/// BM25 over the embedded text, kept in step with the episodes by triggers.
@Suite struct LexicalSearchTests {
    @Test func findsEpisodesByTheirWordsWithinTheAgent() throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        let store = try tmp.open()
        try store.add(Episode(id: "e1", agentID: "a", content: "Booked flights to Lisbon for the conference"))
        try store.add(Episode(id: "e2", agentID: "a", content: "Paid the electricity bill"))
        try store.add(Episode(id: "e3", agentID: "a", content: "very long raw transcript about nothing", summary: "Lisbon hotel booking"))
        try store.add(Episode(id: "e4", agentID: "b", content: "Lisbon Lisbon Lisbon"))
        let hits = try store.lexicalSearch(query: "Lisbon booking", topK: 10, agentID: "a")
        #expect(Set(hits.map(\.episodeID)) == ["e1", "e3"])
        #expect(hits.first?.episodeID == "e3")  // both words (stemmed: booking ~ booked)
        #expect(hits.allSatisfy { $0.score > 0 })
        // The summary is what is indexed when there is one.
        #expect(try store.lexicalSearch(query: "transcript", topK: 10, agentID: "a").isEmpty)
        // Stop words and punctuation alone match nothing; FTS5 syntax in a query is just words.
        #expect(try store.lexicalSearch(query: "the and of ???", topK: 10, agentID: "a").isEmpty)
        #expect(try store.lexicalSearch(query: "bill\" OR NEAR(x", topK: 10, agentID: "a").map(\.episodeID) == ["e2"])
        // Deleting an episode removes it from the index.
        try store.delete(id: "e1")
        #expect(try store.lexicalSearch(query: "Lisbon", topK: 10, agentID: "a").map(\.episodeID) == ["e3"])
    }

    @Test func upgradingAnOldStoreIndexesItsExistingEpisodes() throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        do { _ = try tmp.open() }
        let store0 = try tmp.open(columns: [])
        try store0.add(Episode(id: "old", agentID: "a", content: "quarterly revenue report"))
        try StoreSchema.migrate(path: tmp.path, to: "v2_add_fastembed_vector_cache_tracking")
        // Written while the lexical index did not exist.
        let queue = try DatabaseQueue(path: tmp.path)
        try queue.write { db in
            try db.execute(sql: "INSERT INTO episodes(id, agent_id, content, created_at) VALUES ('older', 'a', 'annual revenue forecast', '2024-01-01')")
        }
        try queue.close()
        let store = try tmp.open(columns: [])
        #expect(Set(try store.lexicalSearch(query: "revenue", topK: 5, agentID: "a").map(\.episodeID)) == ["old", "older"])
    }

    @Test func termsAreLowercasedWithoutStopWordsAndKeepTheirFrequency() {
        #expect(LexicalQuery.terms(in: "The Flight to LISBON, the flight!") == ["flight", "lisbon", "flight"])
        #expect(LexicalQuery.matchExpression(for: "Café 2024") == "\"café\" OR \"2024\"")
        #expect(LexicalQuery.matchExpression(for: "of the") == nil)
        #expect(LexicalQuery.terms(in: String(repeating: "word ", count: 2000)).count == LexicalQuery.maxTerms)
    }

    @Test func aWordRepeatedInTheQueryWeighsMore() throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        let store = try tmp.open()
        try store.add(Episode(id: "cat", agentID: "a", content: "the cat sat"))
        try store.add(Episode(id: "dog", agentID: "a", content: "the dog ran"))
        #expect(try store.lexicalSearch(query: "cat dog dog", topK: 2, agentID: "a").map(\.episodeID) == ["dog", "cat"])
        #expect(try store.lexicalSearch(query: "cat cat dog", topK: 2, agentID: "a").map(\.episodeID) == ["cat", "dog"])
    }
}
