import EpisodeStore
import Foundation
import Testing
@testable import HybridRetrieval
import TextEmbedding
import VectorSearch

@Suite struct EmbeddingServiceTests {
    @Test func noModelIsLoadedBeforeItIsNeeded() async throws {
        let f = try RetrievalFixture()
        defer { f.cleanup() }
        #expect(!f.service.fastModel.isLoaded && f.service.qualityModel?.isLoaded == false)
        // Reading cached vectors never needs a model.
        #expect(try f.service.getFastEmbedding(episodeID: "nothing") == nil)
        #expect(!f.service.fastModel.isLoaded)
        // Adding with deferred quality loads the fast model only.
        let deferred = try EmbeddingService(store: f.store, configuration: .init(
            modelsRoot: Fixtures.models, qualityMode: .deferred, fastModelDirectory: Fixtures.miniLM, qualityModelDirectory: Fixtures.tinyBert))
        try deferred.add(Episode(id: "e", agentID: "a", content: "hello there"))
        #expect(deferred.fastModel.isLoaded && deferred.qualityModel?.isLoaded == false)
        // A hybrid retrieval needs both.
        _ = try await HybridRetriever(service: deferred).retrieve(agentID: "a", query: "hello", options: .init(timeBudgetMs: nil))
        #expect(deferred.qualityModel?.isLoaded == true)
    }

    @Test func addCachesBothVectorsAndSetsTheFlags() throws {
        let f = try RetrievalFixture()
        defer { f.cleanup() }
        let stored = try f.service.add(Episode(id: "e1", agentID: "a", content: "The quick brown fox."))
        #expect(stored.fastembedCached && stored.embeddingCached)
        let expectedFast = try SentenceEmbedder(directory: Fixtures.miniLM).embed("The quick brown fox.")
        #expect(try f.store.vector(column: "vector_fastembed", episodeID: "e1") == expectedFast)
        // From the LRU (hit), not the store.
        let before = f.service.fastCache.statistics
        #expect(try f.service.getFastEmbedding(episodeID: "e1") == expectedFast)
        #expect(f.service.fastCache.statistics.hits == before.hits + 1)
        #expect(try f.service.getQualityEmbedding(episodeID: "e1")?.count == 1024)
    }

    @Test func getFallsBackToTheStoreAndFillsTheLRU() throws {
        let f = try RetrievalFixture(cacheCapacity: 2)
        defer { f.cleanup() }
        try f.addSamples()  // 12 episodes through a 2-entry cache: most were evicted
        let s = f.service.fastCache.statistics
        #expect(s.count == 2 && s.evictions == 10)
        let fromStore = try #require(try f.service.getFastEmbedding(episodeID: "agent-0"))
        #expect(fromStore == (try f.store.vector(column: "vector_fastembed", episodeID: "agent-0")))
        #expect(f.service.fastCache.statistics.misses == s.misses + 1)
        #expect(f.service.fastCache.keysByRecency.first == "agent-0")
        #expect(try f.service.getFastEmbedding(episodeID: "agent-0") == fromStore)
        #expect(f.service.fastCache.statistics.hits == s.hits + 1)
    }

    @Test func cacheAndDimensionChecksAcrossTheService() throws {
        let f = try RetrievalFixture()
        defer { f.cleanup() }
        try f.store.add(Episode(id: "e", agentID: "a", content: "x"))
        #expect(throws: StoreError.vector(.dimensionMismatch(column: "vector_fastembed", expected: 384, actual: 1024))) {
            try f.service.cacheFastEmbedding(episodeID: "e", vector: [Float](repeating: 0, count: 1024))
        }
        #expect(throws: StoreError.vector(.dimensionMismatch(column: "vector", expected: 1024, actual: 384))) {
            try f.service.cacheQualityEmbedding(episodeID: "e", vector: [Float](repeating: 0, count: 384))
        }
        try f.service.cacheFastEmbedding(episodeID: "e", vector: [Float](repeating: 0.05, count: 384))
        #expect(try f.store.episode(id: "e")?.fastembedCached == true)
        // A model whose output does not fit its column is refused with both dimensions named.
        let wrong = try EmbeddingService(store: f.store, configuration: .init(
            modelsRoot: Fixtures.models, fastModelDirectory: Fixtures.tinyBert, qualityModelDirectory: Fixtures.tinyBert))
        do {
            _ = try wrong.createFastEmbedding("hello")
            Issue.record("a 1024-dim model was accepted for a 384-dim column")
        } catch let RetrievalError.modelUnavailable(column, reason) {
            #expect(column == "vector_fastembed")
            #expect(reason.contains("1024-dimensional") && reason.contains("384"))
        }
    }

    @Test func backgroundAndDeferredQualityAndBackfill() async throws {
        let f = try RetrievalFixture(qualityMode: .background)
        defer { f.cleanup() }
        try f.addSamples()
        await f.service.waitForBackgroundWork()
        #expect(try f.store.vectorCount(column: "vector") == Fixtures.episodes.count)
        #expect(try f.store.episode(id: "agent-3")?.embeddingCached == true)

        let deferred = try EmbeddingService(store: f.store, configuration: .init(
            modelsRoot: Fixtures.models, qualityMode: .deferred, fastModelDirectory: Fixtures.miniLM, qualityModelDirectory: Fixtures.tinyBert))
        try deferred.add(Fixtures.episodes.enumerated().map { Episode(id: "later-\($0.offset)", agentID: "b", content: $0.element) })
        #expect(try f.store.vectorCount(column: "vector") == Fixtures.episodes.count)
        var reports: [Int] = []
        var totals: Set<Int> = []
        let filled = try deferred.backfill(role: .quality, batchSize: 5) { done, total in reports.append(done); totals.insert(total) }
        #expect(filled == 12)
        #expect(reports == [5, 10, 12] && totals == [12])
        #expect(try f.store.vectorCount(column: "vector") == 2 * Fixtures.episodes.count)
        #expect(try f.store.episode(id: "later-7")?.embeddingCached == true)
        // Nothing is missing any more: a rerun does nothing.
        #expect(try deferred.backfill(role: .quality) == 0)
        #expect(try deferred.backfill(role: .fast) == 0)
    }
}
