import Foundation
import PostgresEpisodeStore
import TestSupport
import Testing
import VectorSearch

@testable import EpisodeStore

/// Filters, updates, forgetting, idempotent and deduplicating writes — on a real database of each
/// backend.
@Suite struct MemoryOperationsStoreTests {
    /// 20,000 episodes of one agent in 100 buckets; bucket 7 is 1 %.
    static func fillBuckets(_ store: any EpisodeStoreBackend, agent: String = "a", count: Int = 20_000) async throws
        -> [(Episode, [Float])]
    {
        var random = SeededRandom(state: 13)
        var all: [(Episode, [Float])] = []
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        for base in stride(from: 0, to: count, by: 1000) {
            var batch: [NewEpisode] = []
            for i in base..<min(count, base + 1000) {
                let episode = Episode(
                    id: String(format: "e%05d", i), agentID: agent, content: "episode \(i) about topic \(i % 100)",
                    metadata: ["bucket": .number(JSONNumber(i % 100)), "parity": i % 2 == 0 ? "even" : "odd"],
                    createdAt: start.addingTimeInterval(Double(i) * 60))
                let v = random.unitVector(8)
                all.append((episode, v))
                batch.append(NewEpisode(episode, vectors: ["vector_fastembed": v]))
            }
            try await store.add(batch)
        }
        return all
    }

    /// Top-k by brute force over the episodes that pass `filter`, ties by id.
    static func bruteForce(_ all: [(Episode, [Float])], query: [Float], k: Int, filter: EpisodeFilter) -> [String] {
        var scored: [(id: String, score: Float)] = []
        for (episode, v) in all where filter.matches(episode) { scored.append((episode.id, VectorKernels.dot(v, query))) }
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
        return scored.prefix(k).map(\.id)
    }

    @Test(arguments: Backend.allCases)
    func aOnePercentFilterGivesExactlyKResultsEqualToBruteForce(_ backend: Backend) async throws {
        let h = try await StoreHarness.make(backend)
        let all = try await Self.fillBuckets(h.store)
        var random = SeededRandom(state: 99)
        let onePercent = EpisodeFilter(metadata: ["bucket": .equals(7)])
        #expect(all.filter { onePercent.matches($0.0) }.count == 200)
        for _ in 0..<5 {
            let q = random.unitVector(8)
            let hits = try await h.store.similaritySearch(vector: q, column: "vector_fastembed", topK: 10, agentID: "a", filter: onePercent)
            #expect(hits.count == 10)
            #expect(hits.map(\.episodeID) == Self.bruteForce(all, query: q, k: 10, filter: onePercent))
        }
        // Set membership, a time window and excluded ids together: still exact.
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        var combined = EpisodeFilter(
            metadata: ["bucket": .oneOf([3, 4.0, "7"]), "parity": .equals("even")],
            createdAfter: start.addingTimeInterval(60 * 1000), createdBefore: start.addingTimeInterval(60 * 15_000))
        combined.excludedIDs = ["e01004", "e01104"]
        let q = random.unitVector(8)
        let expected = Self.bruteForce(all, query: q, k: 25, filter: combined)
        #expect(expected.count == 25 && !expected.contains("e01004"))
        let hits = try await h.store.similaritySearch(vector: q, column: "vector_fastembed", topK: 25, agentID: "a", filter: combined)
        #expect(hits.map(\.episodeID) == expected)
        // A filter passing fewer than k: all of them, none short of that.
        let few = EpisodeFilter(metadata: ["bucket": .equals(7)], createdBefore: start.addingTimeInterval(60 * 1000))
        let fewHits = try await h.store.similaritySearch(vector: q, column: "vector_fastembed", topK: 100, agentID: "a", filter: few)
        #expect(fewHits.map(\.episodeID) == Self.bruteForce(all, query: q, k: 100, filter: few))
        #expect(fewHits.count == 10)
        // Excluded ids only (an over-fetch on SQLite): the unfiltered order without them.
        let unfiltered = try await h.store.similaritySearch(vector: q, column: "vector_fastembed", topK: 10, agentID: "a")
        let without = EpisodeFilter(excludedIDs: Set(unfiltered.prefix(3).map(\.episodeID)))
        let rest = try await h.store.similaritySearch(vector: q, column: "vector_fastembed", topK: 7, agentID: "a", filter: without)
        #expect(rest.map(\.episodeID) == Array(unfiltered.dropFirst(3)).map(\.episodeID))
        // Half of the agent (the HNSW path on PostgreSQL, over-fetching on SQLite): k results, all passing.
        let half = EpisodeFilter(metadata: ["parity": .equals("odd")])
        let halfHits = try await h.store.similaritySearch(vector: q, column: "vector_fastembed", topK: 20, agentID: "a", filter: half)
        let halfExpected = Self.bruteForce(all, query: q, k: 20, filter: half)
        #expect(halfHits.count == 20)
        #expect(halfHits.allSatisfy { Int($0.episodeID.dropFirst())! % 2 == 1 })
        if backend == .sqlite { #expect(halfHits.map(\.episodeID) == halfExpected) }
        let recall = Double(Set(halfHits.map(\.episodeID)).intersection(halfExpected).count) / 20
        #expect(recall >= 0.9, "recall \(recall)")
        await h.cleanup()
    }

    @Test(arguments: Backend.allCases)
    func filtersApplyToLexicalSearchAndListing(_ backend: Backend) async throws {
        let h = try await StoreHarness.make(backend)
        _ = try await Self.fillBuckets(h.store, count: 2000)
        let filter = EpisodeFilter(metadata: ["bucket": .equals(42)])
        let hits = try await h.store.lexicalSearch(query: "topic episode", topK: 100, agentID: "a", filter: filter)
        #expect(hits.count == 20)
        #expect(Set(hits.map(\.episodeID)) == Set((0..<20).map { String(format: "e%05d", $0 * 100 + 42) }))
        // Listing: filtered, newest first, paged without loss.
        var seen: [String] = []
        var position: PagePosition?
        repeat {
            let page = try await h.store.episodes(agentID: "a", limit: 7, after: position, order: .createdAt, filter: filter)
            seen += page.map(\.id)
            position = page.count == 7 ? PagePosition(after: page.last!) : nil
        } while position != nil
        #expect(seen == (0..<20).reversed().map { String(format: "e%05d", $0 * 100 + 42) })
        // Unknown kinds of filter values are refused with the key named.
        await #expect(throws: StoreError.self) {
            try await h.store.lexicalSearch(
                query: "topic", topK: 5, agentID: "a", filter: EpisodeFilter(metadata: ["bucket": .equals(["nested": 1])]))
        }
        await h.cleanup()
    }

    /// A filter's passing set is computed once for the stages of a retrieval (SQLite keeps it
    /// while nothing is committed): a write in between — an update moving an episode into the
    /// filter, a deletion, another connection's insert — shows in the next search of every stage.
    @Test(arguments: Backend.allCases)
    func filteredSearchesFollowWritesMadeBetweenThem(_ backend: Backend) async throws {
        let h = try await StoreHarness.make(backend)
        let all = try await Self.fillBuckets(h.store, count: 2000)
        let filter = EpisodeFilter(metadata: ["bucket": .equals(42)])
        let q = all[0].1
        func passing() async throws -> (dense: Set<String>, lexical: Set<String>) {
            let dense = try await h.store.similaritySearch(vector: q, column: "vector_fastembed", topK: 100, agentID: "a", filter: filter)
            let lexical = try await h.store.lexicalSearch(query: "topic episode", topK: 100, agentID: "a", filter: filter)
            return (Set(dense.map(\.episodeID)), Set(lexical.map(\.episodeID)))
        }
        var expected = Set((0..<20).map { String(format: "e%05d", $0 * 100 + 42) })
        for _ in 0..<2 { // the second time from the remembered set
            let found = try await passing()
            #expect(found.dense == expected && found.lexical == expected)
        }
        if let sqlite = h.store as? SQLiteEpisodeStore {
            let version = try #require(try sqlite.follower.committedVersion())
            #expect(sqlite.passingSets.ids(agentID: "a", filter: filter, version: version) == expected, "the set was not kept")
        }
        // An update moves e00007 into the filter.
        var moved = try #require(try await h.store.episode(agentID: "a", id: "e00007"))
        moved.metadata["bucket"] = .number(42)
        _ = try #require(try await h.store.update(moved, expectedUpdatedAt: moved.updatedAt, vectors: [:], staleColumns: []))
        expected.insert("e00007")
        var found = try await passing()
        #expect(found.dense == expected && found.lexical == expected, "an update was missed")
        // A deletion takes one out.
        _ = try await h.store.delete(agentID: "a", id: "e00042")
        expected.remove("e00042")
        found = try await passing()
        #expect(found.dense == expected && found.lexical == expected, "a deletion was missed")
        // Another connection (a second process would) adds one.
        let other = try await h.reopen()
        _ = try await other.add(
            Episode(id: "late", agentID: "a", content: "episode late about topic 42", metadata: ["bucket": 42]),
            vectors: ["vector_fastembed": q])
        await other.close()
        expected.insert("late")
        found = try await passing()
        #expect(found.dense == expected && found.lexical == expected, "another connection's insert was missed")
        await h.cleanup()
    }

    @Test(arguments: Backend.allCases)
    func updateReplacesTextVectorsAndIndexInOneTransaction(_ backend: Backend) async throws {
        let h = try await StoreHarness.make(backend)
        let store = h.store
        let original = try await store.add(
            Episode(id: "u", agentID: "a", content: "booked a flight to lisbon", metadata: ["status": "open", "n": 1]),
            vectors: ["vector_fastembed": vector(0.25, 8), "vector": vector(0.1, 12)])
        _ = try await store.add(
            Episode(id: "other", agentID: "a", content: "paid the electricity bill"), vectors: ["vector_fastembed": vector(-0.25, 8)])
        var changed = original
        changed.content = "moved the train to porto"
        changed.metadata = ["status": "done", "n": 1]
        // The wrong version is refused, nothing written.
        await #expect(throws: StoreError.concurrentUpdate("u")) {
            try await store.update(
                changed, expectedUpdatedAt: original.updatedAt.addingTimeInterval(-5), vectors: [:], staleColumns: [])
        }
        // Orthogonal to the other episode's vector: only the new vector can make "u" the top hit.
        let fresh: [Float] = (0..<8).map { $0 % 2 == 0 ? 0.35 : -0.35 }
        let stored = try #require(
            try await store.update(
                changed, expectedUpdatedAt: original.updatedAt, vectors: ["vector_fastembed": fresh], staleColumns: ["vector"]))
        #expect(stored.updatedAt > original.updatedAt && stored.createdAt == original.createdAt)
        #expect(stored.fastembedCached && !stored.embeddingCached && stored.embeddingCachedAt == nil)
        #expect(try await store.episode(agentID: "a", id: "u") == stored)
        #expect(try await store.vectors(column: "vector_fastembed", agentID: "a", episodeIDs: ["u"]) == ["u": fresh])
        #expect(try await store.vectors(column: "vector", agentID: "a", episodeIDs: ["u"]).isEmpty)
        // The text index follows: the new words find it, the old ones do not.
        #expect(try await store.lexicalSearch(query: "porto", topK: 5, agentID: "a").map(\.episodeID) == ["u"])
        #expect(try await store.lexicalSearch(query: "lisbon", topK: 5, agentID: "a").isEmpty)
        // The vector search scores it with the new vector.
        let hit = try await store.similaritySearch(vector: fresh, column: "vector_fastembed", topK: 1, agentID: "a")
        #expect(hit.first?.episodeID == "u")
        #expect(abs((hit.first?.score ?? 0) - VectorKernels.dot(fresh, fresh)) < 1e-6)
        // A background vector of the old text arrives late: skipped.
        #expect(try await store.setVectors([EpisodeVector(of: original, vector: vector(0.3, 12))], column: "vector") == 0)
        #expect(try await store.setVectors([EpisodeVector(of: stored, vector: vector(0.3, 12))], column: "vector") == 1)
        // Listing by update time puts it first.
        #expect(try await store.episodes(agentID: "a", limit: 2, after: nil, order: .updatedAt, filter: nil).map(\.id) == ["u", "other"])
        // Missing episode: nil.
        var ghost = changed
        ghost.id = "ghost"
        #expect(try await store.update(ghost, expectedUpdatedAt: Date(), vectors: [:], staleColumns: []) == nil)
        await h.cleanup()
    }

    @Test(arguments: Backend.allCases)
    func deletingByFilterAndForgettingAnAgentLeaveNothingSearchable(_ backend: Backend) async throws {
        let h = try await StoreHarness.make(backend)
        let store = h.store
        _ = try await Self.fillBuckets(store, count: 600)
        _ = try await Self.fillBuckets(store, agent: "b", count: 50)
        let deleted = try await store.deleteEpisodes(agentID: "a", filter: EpisodeFilter(metadata: ["parity": .equals("odd")]))
        #expect(deleted.count == 300)
        #expect(try await store.agentEpisodeCounts()["a"] == 300)
        #expect(try await store.vectorCount(column: "vector_fastembed", agentID: "a") == 300)
        let hits = try await store.similaritySearch(vector: vector(0.3, 8), column: "vector_fastembed", topK: 600, agentID: "a")
        #expect(hits.count == 300 && hits.allSatisfy { Int($0.episodeID.dropFirst())! % 2 == 0 })

        let forgotten = try await store.deleteEpisodes(agentID: "a", filter: nil)
        #expect(forgotten.count == 300)
        #expect(try await store.agentEpisodeCounts() == ["b": 50])
        #expect(try await !store.agentExists("a"))
        #expect(try await store.lexicalSearch(query: "topic", topK: 10, agentID: "a").isEmpty)
        await #expect(throws: StoreError.unknownAgent("a")) {
            try await store.similaritySearch(vector: vector(0.3, 8), column: "vector_fastembed", topK: 3, agentID: "a")
        }
        #expect(try await store.episodes(agentID: "a", limit: 10, after: nil).isEmpty)
        // The other agent is untouched.
        #expect(try await store.lexicalSearch(query: "topic", topK: 100, agentID: "b").count == 50)
        try await store.compact()
        #expect(try await store.agentEpisodeCounts() == ["b": 50])
        await h.cleanup()
    }

    @Test(arguments: Backend.allCases)
    func idempotentAndDeduplicatingWrites(_ backend: Backend) async throws {
        let h = try await StoreHarness.make(backend)
        let store = h.store
        let first = Episode(id: "fixed", agentID: "a", content: "Booked  the Flight", metadata: ["k": 1])
        let made = try await store.insert([NewEpisode(first, idempotent: true)])
        #expect(made.map(\.created) == [true])
        // A retry (same content, later created_at): the stored episode, not a second one.
        var retry = first
        retry.createdAt = first.createdAt.addingTimeInterval(30)
        let again = try await store.insert([NewEpisode(retry, idempotent: true)])
        #expect(again.map(\.created) == [false] && again[0].episode == made[0].episode)
        var other = first
        other.content = "something else"
        await #expect(throws: StoreError.conflictingEpisode("fixed")) { try await store.insert([NewEpisode(other, idempotent: true)]) }
        await #expect(throws: StoreError.duplicateEpisode("fixed")) { try await store.insert([NewEpisode(retry)]) }
        // Deduplication by normalised content, within the agent only.
        let same = try await store.insert([NewEpisode(Episode(agentID: "a", content: "  booked the FLIGHT\n"), deduplicate: true)])
        #expect(same[0].created == false && same[0].episode.id == "fixed")
        let elsewhere = try await store.insert([NewEpisode(Episode(agentID: "b", content: "booked the flight"), deduplicate: true)])
        #expect(elsewhere[0].created)
        // Concurrent identical writes: one episode.
        try await withThrowingTaskGroup(of: Insertion.self) { group in
            for _ in 0..<8 {
                group.addTask { try await store.insert([NewEpisode(Episode(agentID: "c", content: "same memory"), deduplicate: true)])[0] }
                group.addTask {
                    try await store.insert([NewEpisode(Episode(id: "same-id", agentID: "d", content: "same"), idempotent: true)])[0]
                }
            }
            var created = 0
            for try await outcome in group where outcome.created { created += 1 }
            #expect(created == 2)
        }
        #expect(try await store.agentEpisodeCounts()["c"] == 1)
        #expect(try await store.agentEpisodeCounts()["d"] == 1)
        await h.cleanup()
    }

    @Test func forgottenTextIsGoneFromTheSQLiteFileAfterCompaction() async throws {
        let store = try TemporaryStore()
        let db = try store.open()
        let secret = "zanzibarquokka-\(UUID().uuidString)"
        for i in 0..<200 {
            try await db.add(Episode(agentID: "keep", content: "ordinary note \(i)"), vectors: ["vector_fastembed": vector(0.1, 8)])
        }
        for i in 0..<20 {
            try await db.add(
                Episode(agentID: "secret-agent", content: "\(secret) number \(i)", metadata: ["code": .string(secret)]),
                vectors: ["vector_fastembed": vector(0.2, 8)])
        }
        func fileHolds(_ text: String) -> Bool {
            let needle = Data(text.utf8)
            return fileBytes(store.path).contains { $0.range(of: needle) != nil }
        }
        #expect(fileHolds(secret))
        #expect(try await db.deleteEpisodes(agentID: "secret-agent", filter: nil).count == 20)
        try await db.compact()
        #expect(!fileHolds(secret))
        #expect(!fileHolds("secret-agent"))
        #expect(try await db.agentEpisodeCounts() == ["keep": 200])
        #expect(try await db.lexicalSearch(query: "ordinary", topK: 500, agentID: "keep").count == 200)
        await db.close()
        // A process that opens the store afterwards sees the same.
        let reopened = try store.open(create: false)
        #expect(
            try await reopened.similaritySearch(vector: vector(0.1, 8), column: "vector_fastembed", topK: 300, agentID: "keep").count == 200
        )
        await reopened.close()
        store.cleanup()
    }

    @Test(arguments: Backend.allCases)
    func theFingerprintMigrationBackfillsExistingRows(_ backend: Backend) async throws {
        let h = try await StoreHarness.make(backend)
        try await h.store.add(Episode(id: "old", agentID: "a", content: "An  OLD memory"), vectors: [:])
        await h.store.close()
        let previous = "v4_episode_ids_per_agent"
        switch backend {
        case .sqlite:
            let path = h.directory.path("memory.sqlite")
            #expect(try SQLiteEpisodeStore.migrate(path: path, to: previous).last == previous)
            #expect(try SQLiteEpisodeStore.migrate(path: path).contains("v5_text_fingerprints"))
        case .postgres:
            let (url, _) = try PostgresTestDatabase.url(schema: h.schema!)
            #expect(try await PostgresEpisodeStore.migrate(url: url, to: previous).last == previous)
            #expect(try await PostgresEpisodeStore.migrate(url: url).contains("v5_text_fingerprints"))
        }
        let store = try await h.reopen()
        let found = try await store.insert([NewEpisode(Episode(agentID: "a", content: "an old memory"), deduplicate: true)])
        #expect(found[0].created == false && found[0].episode.id == "old")
        await store.close()
        await h.cleanup()
    }
}

/// The passing sets SQLite keeps between a retrieval's stages stay bounded in entries and ids.
@Suite struct PassingSetCacheTests {
    static func ids(_ prefix: String, _ count: Int) -> Set<String> { Set((0..<count).map { "\(prefix)\($0)" }) }

    @Test func entriesAndIdsAreBoundedAndAnotherVersionMisses() {
        let cache = PassingSetCache()
        let filters = (0..<12).map { EpisodeFilter(metadata: ["bucket": .equals(.number(JSONNumber($0)))]) }
        for (i, filter) in filters.enumerated() { cache.store(agentID: "a", filter: filter, version: 3, ids: Self.ids("f\(i)-", 10)) }
        #expect(cache.ids(agentID: "a", filter: filters[0], version: 3) == nil, "more than the capacity kept")
        #expect(cache.ids(agentID: "a", filter: filters[11], version: 3) == Self.ids("f11-", 10))
        #expect(cache.ids(agentID: "a", filter: filters[11], version: 4) == nil, "a set served after a commit")
        #expect(cache.ids(agentID: "b", filter: filters[11], version: 3) == nil, "another agent's set served")
        // A set over the limit is not kept; large sets push out the least recently used.
        cache.store(agentID: "a", filter: filters[1], version: 5, ids: Self.ids("big-", PassingSetCache.maximumIDs + 1))
        #expect(cache.ids(agentID: "a", filter: filters[1], version: 5) == nil)
        for i in 0..<3 {
            cache.store(agentID: "a", filter: filters[i], version: 5, ids: Self.ids("l\(i)-", PassingSetCache.maximumIDs / 2 - 10))
        }
        #expect(cache.heldIDs <= PassingSetCache.maximumIDs)
        #expect(cache.ids(agentID: "a", filter: filters[0], version: 5) == nil)
        #expect(cache.ids(agentID: "a", filter: filters[2], version: 5)?.count == PassingSetCache.maximumIDs / 2 - 10)
    }
}
