import EpisodeStore
import Foundation
import TestSupport
import Testing
import TextEmbedding
import VectorSearch

@testable import HybridRetrieval

@Suite struct EmbeddingServiceTests {
    @Test func noModelIsLoadedBeforeItIsNeeded() async throws {
        let f = try RetrievalFixture()
        defer { f.cleanup() }
        #expect(!f.service.fast.model.isLoaded && f.service.quality?.model.isLoaded == false)
        // Reading stored vectors never needs a model.
        #expect(try await f.service.vectors(for: [], in: f.service.fast).isEmpty)
        #expect(!f.service.fast.model.isLoaded)
        // Adding with deferred quality loads the fast model only.
        let deferred = try RetrievalFixture.service(f.store, qualityMode: .deferred)
        try await deferred.add([NewEpisode(Episode(id: "e", agentID: "a", content: "hello there"))])
        #expect(deferred.fast.model.isLoaded && deferred.quality?.model.isLoaded == false)
        // A hybrid retrieval needs both.
        _ = try await HybridRetriever(service: deferred).retrieve(agentID: "a", query: "hello", options: .init(timeBudgetMs: nil))
        #expect(deferred.quality?.model.isLoaded == true)
    }

    @Test func addStoresAndCachesBothVectorsAndSetsTheFlags() async throws {
        let f = try RetrievalFixture()
        defer { f.cleanup() }
        let stored = try await f.service.add([NewEpisode(Episode(id: "e1", agentID: "a", content: "The quick brown fox."))])[0]
        #expect(stored.fastembedCached && stored.embeddingCached)
        let expectedFast = try SentenceEmbedder(directory: Fixtures.miniLM).embed("The quick brown fox.")
        #expect(try await f.vector("vector_fastembed", "a", "e1") == expectedFast)
        // From the LRU (a hit), not the store: the entry's stamp matches the stored row.
        let before = f.service.fast.cache.statistics
        #expect(try await f.service.vectors(for: [stored], in: f.service.fast) == ["e1": expectedFast])
        #expect(f.service.fast.cache.statistics.hits == before.hits + 1)
        #expect(try await f.vector("vector", "a", "e1")?.count == 1024)
    }

    @Test func aCachedVectorIsNotServedOnceTheStoredOneChanged() async throws {
        let f = try RetrievalFixture(cacheCapacity: 4)
        defer { f.cleanup() }
        let stored = try await f.service.add([NewEpisode(Episode(id: "e1", agentID: "a", content: "first text"))])[0]
        #expect(f.service.quality!.cachedVector(of: stored) != nil)
        // Another process replaces the vector: the row's cache time moves on, the LRU entry is stale.
        try await Task.sleep(nanoseconds: 5_000_000)
        let replacement = [Float](repeating: 1 / Float(1024).squareRoot(), count: 1024)
        try await f.store.setVectors([EpisodeVector(agentID: "a", episodeID: "e1", vector: replacement)], column: "vector")
        let current = try #require(try await f.store.episode(agentID: "a", id: "e1"))
        #expect(f.service.quality!.cachedVector(of: current) == nil)
        #expect(try await f.service.vectors(for: [current], in: f.service.quality!) == ["e1": replacement])
        // Same id, other agent: never the same cache entry.
        let other = try await f.service.add([NewEpisode(Episode(id: "e1", agentID: "b", content: "another agent's text"))])[0]
        #expect(try await f.service.vectors(for: [other], in: f.service.quality!)["e1"] != replacement)
    }

    @Test func theLRUEvictsAndRefillsFromTheStore() async throws {
        let f = try RetrievalFixture(cacheCapacity: 2)
        defer { f.cleanup() }
        try await f.addSamples() // 12 episodes through a 2-entry cache: most were evicted
        let s = f.service.fast.cache.statistics
        #expect(s.count == 2 && s.evictions == 10)
        let episode = try #require(try await f.store.episode(agentID: "agent", id: "agent-0"))
        let fromStore = try await f.service.vectors(for: [episode], in: f.service.fast)["agent-0"]
        let stored = try await f.vector("vector_fastembed", "agent", "agent-0")
        #expect(fromStore != nil && fromStore == stored)
        #expect(f.service.fast.cache.statistics.misses == s.misses + 1)
        #expect(f.service.fast.cache.keysByRecency.first == EpisodeKey(agentID: "agent", episodeID: "agent-0"))
        #expect(try await f.service.vectors(for: [episode], in: f.service.fast)["agent-0"] == fromStore)
        #expect(f.service.fast.cache.statistics.hits == s.hits + 1)
    }

    @Test func dimensionChecksAcrossTheService() async throws {
        let f = try RetrievalFixture()
        defer { f.cleanup() }
        try await f.store.add(Episode(id: "e", agentID: "a", content: "x"))
        await #expect(throws: StoreError.vector(.dimensionMismatch(column: "vector_fastembed", expected: 384, actual: 1024))) {
            try await f.service.add([
                NewEpisode(Episode(id: "e2", agentID: "a", content: "x"), vectors: ["vector_fastembed": [Float](repeating: 0, count: 1024)])
            ])
        }
        // A model whose output does not fit its column is refused with both dimensions named.
        let wrong = try RetrievalFixture.service(f.store, fastDirectory: Fixtures.tinyBert)
        do {
            _ = try await wrong.fast.embedQuery("hello")
            Issue.record("a 1024-dim model was accepted for a 384-dim column")
        } catch let RetrievalError.modelUnavailable(column, reason) {
            #expect(column == "vector_fastembed")
            #expect(reason.contains("1024-dimensional") && reason.contains("384"))
        }
    }

    @Test func backgroundAndDeferredQualityAndBackfill() async throws {
        let f = try RetrievalFixture(qualityMode: .background)
        defer { f.cleanup() }
        try await f.addSamples()
        await f.service.waitForBackgroundWork()
        let count = RetrievalFixture.episodes.count
        #expect(try await f.store.vectorCount(column: "vector", agentID: nil) == count)
        #expect(try await f.store.episode(agentID: "agent", id: "agent-3")?.embeddingCached == true)

        let deferred = try RetrievalFixture.service(f.store, qualityMode: .deferred)
        try await deferred.add(
            RetrievalFixture.episodes.enumerated().map { NewEpisode(Episode(id: "later-\($0.offset)", agentID: "b", content: $0.element)) })
        #expect(try await f.store.vectorCount(column: "vector", agentID: nil) == count)
        let reports = Recorder<(Int, Int)>()
        let filled = try await deferred.backfill(role: .quality, batchSize: 5) { reports.record(($0, $1)) }
        #expect(filled == 12)
        #expect(reports.values.map(\.0) == [5, 10, 12] && Set(reports.values.map(\.1)) == [12])
        #expect(try await f.store.vectorCount(column: "vector", agentID: nil) == 2 * count)
        #expect(try await f.store.episode(agentID: "b", id: "later-7")?.embeddingCached == true)
        // Nothing is missing any more: a rerun does nothing.
        #expect(try await deferred.backfill(role: .quality) == 0)
        #expect(try await deferred.backfill(role: .fast) == 0)
    }
}
