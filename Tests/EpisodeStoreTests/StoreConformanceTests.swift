import Foundation
import TestSupport
import Testing
import VectorSearch

@testable import EpisodeStore

/// What every backend promises (``EpisodeStoreBackend``), on a real database of each backend.
@Suite struct StoreConformanceTests {
    @Test(arguments: Backend.allCases)
    func addGetDeleteWithVectorsAndCacheFlags(_ backend: Backend) async throws {
        let h = try await StoreHarness.make(backend)
        let store = h.store
        let episode = Episode(
            id: "e1", agentID: "a", content: "booked a flight", summary: "flight booked",
            metadata: ["tags": ["travel"], "score": 0.5, "ok": true])
        let fast = vector(0.25, 8)
        let stored = try await store.add(episode, vectors: ["vector_fastembed": fast])
        #expect(stored.fastembedCached && stored.fastembedCachedAt != nil)
        #expect(!stored.embeddingCached && stored.embeddingCachedAt == nil)
        let read = try #require(try await store.episode(agentID: "a", id: "e1"))
        #expect(read == stored)
        #expect(read.embeddedText == "flight booked")
        #expect(try await store.vectors(column: "vector_fastembed", agentID: "a", episodeIDs: ["e1"]) == ["e1": fast])

        #expect(try await store.setVectors([EpisodeVector(agentID: "a", episodeID: "e1", vector: vector(0.1, 12))], column: "vector") == 1)
        #expect(try await store.episode(agentID: "a", id: "e1")?.embeddingCached == true)
        #expect(try await store.vectorCount(column: "vector", agentID: "a") == 1)

        #expect(try await store.delete(agentID: "a", id: "e1"))
        #expect(try await store.episode(agentID: "a", id: "e1") == nil)
        #expect(try await !store.delete(agentID: "a", id: "e1"))
        // The episode's vectors went with it, and searches no longer see it.
        #expect(try await store.vectorCount(column: "vector_fastembed", agentID: nil) == 0)
        #expect(try await store.vectorCount(column: "vector", agentID: nil) == 0)
        await #expect(throws: StoreError.unknownAgent("a")) {
            try await store.similaritySearch(vector: fast, column: "vector_fastembed", topK: 3, agentID: "a")
        }
        await h.cleanup()
    }

    @Test(arguments: Backend.allCases)
    func dimensionAndNaNErrorsNameTheColumnAndStoreNothing(_ backend: Backend) async throws {
        let h = try await StoreHarness.make(backend)
        let store = h.store
        await #expect(throws: StoreError.vector(.dimensionMismatch(column: "vector_fastembed", expected: 8, actual: 3))) {
            try await store.add(Episode(id: "x", agentID: "a", content: "c"), vectors: ["vector_fastembed": [1, 2, 3]])
        }
        var nan = vector(0, 12)
        nan[4] = .nan
        await #expect(throws: StoreError.vector(.nonFiniteValue(column: "vector", index: 4))) {
            try await store.add(Episode(id: "x", agentID: "a", content: "c"), vectors: ["vector": nan])
        }
        nan[4] = .infinity
        await #expect(throws: StoreError.vector(.nonFiniteValue(column: "vector", index: 4))) {
            try await store.similaritySearch(vector: nan, column: "vector", topK: 3, agentID: "a")
        }
        await #expect(throws: StoreError.vector(.nonFiniteValue(column: "vector", index: 4))) {
            try await store.setVectors([EpisodeVector(agentID: "a", episodeID: "x", vector: nan)], column: "vector")
        }
        await #expect(throws: StoreError.vector(.unknownColumn("embedding"))) {
            try await store.add(Episode(id: "x", agentID: "a", content: "c"), vectors: ["embedding": [1]])
        }
        await #expect(throws: StoreError.vector(.dimensionMismatch(column: "vector", expected: 12, actual: 8))) {
            try await store.similaritySearch(vector: vector(0, 8), column: "vector", topK: 3, agentID: "a")
        }
        // A batch with one bad vector stores nothing at all.
        await #expect(throws: StoreError.self) {
            try await store.add([
                NewEpisode(Episode(id: "ok", agentID: "a", content: "fine"), vectors: ["vector_fastembed": vector(0, 8)]),
                NewEpisode(Episode(id: "bad", agentID: "a", content: "bad"), vectors: ["vector_fastembed": [0]]),
            ])
        }
        #expect(try await store.episode(agentID: "a", id: "ok") == nil)
        #expect(try await store.agentEpisodeCounts().isEmpty)
        await h.cleanup()
    }

    @Test(arguments: Backend.allCases)
    func invalidEpisodesAreTypedErrorsThatStoreNothing(_ backend: Backend) async throws {
        let h = try await StoreHarness.make(backend, limits: EpisodeLimits(maxTextBytes: 100, maxMetadataDepth: 4))
        let store = h.store
        func reason(_ episode: Episode) async -> String? {
            do { try await store.add(episode); return nil } catch let StoreError.invalidEpisode(_, reason) { return reason } catch {
                return "\(error)"
            }
        }
        await #expect(throws: StoreError.textTooLarge(id: "big", field: "content", bytes: 101, limit: 100)) {
            try await store.add(Episode(id: "big", agentID: "a", content: String(repeating: "x", count: 101)))
        }
        #expect(await reason(Episode(agentID: "a", content: "  \n ")) == "content is empty")
        #expect(await reason(Episode(agentID: "", content: "c")) == "agent_id is empty")
        #expect(await reason(Episode(id: "bad\u{7}id", agentID: "a", content: "c"))?.hasPrefix("id contains control characters") == true)
        #expect(await reason(Episode(id: " padded", agentID: "a", content: "c")) == "id starts or ends with whitespace")
        #expect(await reason(Episode(agentID: "a", content: "c", summary: "")) == "summary is empty (omit it instead)")
        #expect(await reason(Episode(agentID: "a", content: "before\u{0}after"))?.contains("NUL") == true)
        #expect(await reason(Episode(agentID: "a", content: "\u{0}hidden"))?.contains("NUL") == true)
        #expect(await reason(Episode(agentID: "a", content: "c", summary: "s\u{0}"))?.contains("summary contains a NUL") == true)
        let deep: JSONValue = [[[["too deep"]]]]
        #expect(await reason(Episode(agentID: "a", content: "c", metadata: ["k": deep]))?.contains("nests 5 levels") == true)
        #expect(
            await reason(Episode(agentID: "a", content: "c", createdAt: Date(timeIntervalSince1970: 253_402_300_800)))?
                .contains("created_at is outside") == true)
        #expect(
            await reason(Episode(agentID: "a", content: "c", createdAt: Date(timeIntervalSince1970: -62_135_596_801)))?
                .contains("created_at is outside") == true)
        #expect(try await store.agentEpisodeCounts().isEmpty)
        await h.cleanup()
    }

    @Test(arguments: Backend.allCases)
    func episodeIDsAreUniquePerAgentAndNeverCrossAgents(_ backend: Backend) async throws {
        let h = try await StoreHarness.make(backend)
        let store = h.store
        try await store.add(Episode(id: "same", agentID: "a", content: "first of a"))
        // Another agent may use the same id: nothing tells it that agent a has one.
        try await store.add(Episode(id: "same", agentID: "b", content: "first of b"))
        await #expect(throws: StoreError.duplicateEpisode("same")) {
            try await store.add(Episode(id: "same", agentID: "a", content: "second"))
        }
        #expect(try await store.episode(agentID: "a", id: "same")?.content == "first of a")
        #expect(try await store.episode(agentID: "b", id: "same")?.content == "first of b")
        #expect(try await store.episode(agentID: "c", id: "same") == nil)
        #expect(try await store.episodes(agentID: "c", ids: ["same"]).isEmpty)
        #expect(try await !store.delete(agentID: "c", id: "same"))
        #expect(try await store.delete(agentID: "b", id: "same"))
        #expect(try await store.episode(agentID: "a", id: "same")?.content == "first of a")
        // Vectors of an episode only ever attach to that agent's episode.
        #expect(
            try await store.setVectors([EpisodeVector(agentID: "b", episodeID: "same", vector: vector(1, 8))], column: "vector_fastembed")
                == 0)
        #expect(try await store.vectorCount(column: "vector_fastembed", agentID: nil) == 0)
        await h.cleanup()
    }

    @Test(arguments: Backend.allCases)
    func metadataAndDatesRoundTripExactly(_ backend: Backend) async throws {
        let h = try await StoreHarness.make(backend)
        let store = h.store
        let metadata = try #require(
            try JSONParser().parse(
                #"""
                {"big": 9007199254740993, "negzero": -0.0, "exp": 6.02e23, "text": "é\n\"q\" \u0000 ok", "nested": {"list": [1, 2.50, null, true]},
                 "": "empty key", "emoji": "🚀"}
                """#
            ).objectValue)
        let dates = [
            ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"), ("1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z"),
            ("2024-02-29T14:34:56.7891+02:00", "2024-02-29T12:34:56.789Z"), ("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"),
        ]
        for (i, (text, _)) in dates.enumerated() {
            try await store.add(
                Episode(
                    id: "d\(i)", agentID: "a", content: "c", metadata: metadata,
                    createdAt: try EpisodeTime.parse(rfc3339: text)))
        }
        for (i, (_, expected)) in dates.enumerated() {
            let read = try #require(try await store.episode(agentID: "a", id: "d\(i)"))
            #expect(read.metadata == metadata)
            #expect(JSONValue.object(read.metadata).jsonText == JSONValue.object(metadata).jsonText)
            #expect(EpisodeTime.rfc3339(read.createdAt) == expected)
        }
        #expect(try await store.episode(agentID: "a", id: "d0")?.metadata["big"] == .number(JSONNumber(literal: "9007199254740993")!))
        #expect(try await store.episode(agentID: "a", id: "d0")?.metadata["negzero"] == .number(JSONNumber(literal: "-0.0")!))
        await h.cleanup()
    }

    @Test(arguments: Backend.allCases)
    func paginationIsNewestFirstAndStable(_ backend: Backend) async throws {
        let h = try await StoreHarness.make(backend)
        let store = h.store
        let base = Date(timeIntervalSince1970: 1_700_000_000)
        for i in 0..<25 {
            try await store.add(
                Episode(
                    id: String(format: "e%02d", i), agentID: "a", content: "episode \(i)",
                    createdAt: base.addingTimeInterval(Double(i / 2))))
        }
        try await store.add(Episode(agentID: "other", content: "not mine"))
        var seen: [String] = []
        var position: PagePosition?
        repeat {
            let page = try await store.episodes(agentID: "a", limit: 10, after: position)
            seen += page.map(\.id)
            position = page.count == 10 ? page.last.map { PagePosition(after: $0) } : nil
        } while position != nil
        #expect(seen == (0..<25).reversed().map { String(format: "e%02d", $0) })
        #expect(try await store.agentEpisodeCounts() == ["a": 25, "other": 1])
        #expect(try await store.agentExists("other"))
        #expect(try await !store.agentExists("nobody"))
        await h.cleanup()
    }

    @Test(arguments: Backend.allCases)
    func similaritySearchEqualsBruteForceAndIsNeverShort(_ backend: Backend) async throws {
        let h = try await StoreHarness.make(
            backend, columns: [VectorColumn(name: "vector_fastembed", role: .fast, dimension: 32, modelID: "m")])
        let store = h.store
        var random = SeededRandom(state: 17)
        var byAgent: [String: [(id: String, vector: [Float])]] = [:]
        var batch: [NewEpisode] = []
        for i in 0..<3000 {
            let agent = i % 3 == 0 ? "big" : "small-\(i % 7)"
            let v = random.unitVector(32)
            byAgent[agent, default: []].append(("ep-\(i)", v))
            batch.append(NewEpisode(Episode(id: "ep-\(i)", agentID: agent, content: "text \(i)"), vectors: ["vector_fastembed": v]))
        }
        try await store.add(batch)
        let query = random.unitVector(32)
        for (agent, vectors) in byAgent {
            let hits = try await store.similaritySearch(vector: query, column: "vector_fastembed", topK: 100, agentID: agent)
            #expect(hits.count == min(100, vectors.count))
            #expect(hits.map(\.episodeID) == bruteForce(vectors, query: query, k: 100))
        }
        await #expect(throws: StoreError.unknownAgent("nobody")) {
            try await store.similaritySearch(vector: query, column: "vector_fastembed", topK: 5, agentID: "nobody")
        }
        // Another connection (a second process) answers the same.
        let other = try await h.reopen()
        #expect(
            try await other.similaritySearch(vector: query, column: "vector_fastembed", topK: 100, agentID: "big").map(\.episodeID)
                == bruteForce(byAgent["big"]!, query: query, k: 100))
        // An agent with episodes but no vectors in the column is known: empty, not an error.
        try await store.add(Episode(agentID: "novectors", content: "x"))
        #expect(try await store.similaritySearch(vector: query, column: "vector_fastembed", topK: 5, agentID: "novectors").isEmpty)
        await other.close()
        await h.cleanup()
    }

    @Test(arguments: Backend.allCases)
    func lexicalSearchFindsWordsWithinTheAgentOnly(_ backend: Backend) async throws {
        let h = try await StoreHarness.make(backend)
        let store = h.store
        try await store.add(Episode(id: "e1", agentID: "a", content: "Booked flights to Lisbon for the conference"))
        try await store.add(Episode(id: "e2", agentID: "a", content: "Paid the electricity bill"))
        try await store.add(
            Episode(id: "e3", agentID: "a", content: "very long raw transcript about nothing", summary: "Lisbon hotel booking"))
        try await store.add(Episode(id: "e4", agentID: "b", content: "Lisbon Lisbon Lisbon"))
        let hits = try await store.lexicalSearch(query: "Lisbon booking", topK: 10, agentID: "a")
        #expect(Set(hits.map(\.episodeID)) == ["e1", "e3"])
        #expect(hits.first?.episodeID == "e3") // both words (stemmed: booking ~ booked)
        #expect(!hits.isEmpty && hits.allSatisfy { $0.score > 0 })
        // The summary is what is indexed when there is one.
        #expect(try await store.lexicalSearch(query: "transcript", topK: 10, agentID: "a").isEmpty)
        // Stop words and punctuation alone match nothing; query syntax in a query is just words.
        #expect(try await store.lexicalSearch(query: "the and of ???", topK: 10, agentID: "a").isEmpty)
        #expect(try await store.lexicalSearch(query: "bill\" OR NEAR(x", topK: 10, agentID: "a").map(\.episodeID) == ["e2"])
        #expect(try await store.lexicalSearch(query: "Lisbon", topK: 10, agentID: "nobody").isEmpty)
        // Deleting an episode removes it from the index.
        try await store.delete(agentID: "a", id: "e1")
        #expect(try await store.lexicalSearch(query: "Lisbon", topK: 10, agentID: "a").map(\.episodeID) == ["e3"])
        // A word repeated in the query weighs more.
        try await store.add(Episode(id: "cat", agentID: "c", content: "the cat sat"))
        try await store.add(Episode(id: "dog", agentID: "c", content: "the dog ran"))
        #expect(try await store.lexicalSearch(query: "cat dog dog", topK: 2, agentID: "c").map(\.episodeID) == ["dog", "cat"])
        #expect(try await store.lexicalSearch(query: "cat cat dog", topK: 2, agentID: "c").map(\.episodeID) == ["cat", "dog"])
        await h.cleanup()
    }

    @Test(arguments: Backend.allCases)
    func missingVectorsAreListedAndFilledInOneTransaction(_ backend: Backend) async throws {
        let h = try await StoreHarness.make(backend)
        let store = h.store
        try await store.add(
            (0..<5).map {
                NewEpisode(
                    Episode(
                        id: "m\($0)", agentID: "a", content: "text \($0)",
                        createdAt: Date(timeIntervalSince1970: Double(1000 + $0))))
            })
        let missing = try await store.episodesMissingVector(column: "vector", limit: 3)
        #expect(missing.map(\.id) == ["m0", "m1", "m2"]) // oldest first
        try await store.delete(agentID: "a", id: "m1")
        // The deleted one is skipped, the others are stored.
        let stored = try await store.setVectors(
            missing.map { EpisodeVector(agentID: "a", episodeID: $0.id, vector: vector(0.5, 12)) }, column: "vector")
        #expect(stored == 2)
        #expect(try await store.episodesMissingVector(column: "vector", limit: 10).map(\.id) == ["m3", "m4"])
        #expect(
            try await store.vectors(column: "vector", agentID: "a", episodeIDs: ["m0", "m1", "m2", "m3"]).keys.sorted() == ["m0", "m2"])
        await h.cleanup()
    }

    @Test(arguments: Backend.allCases)
    func reembeddingSwapsTheColumnOnlyWhenEveryVectorIsThere(_ backend: Backend) async throws {
        let h = try await StoreHarness.make(backend)
        let store = h.store
        try await store.add(
            (0..<4).map {
                NewEpisode(
                    Episode(id: "r\($0)", agentID: "a", content: "text \($0)"),
                    vectors: ["vector": vector(0.1, 12)])
            })
        let replacement = VectorColumn(name: "vector", role: .quality, dimension: 6, modelID: "new-model", modelSHA256: "cc")
        let staging = try await store.beginReembedding(of: "vector", with: replacement)
        #expect(staging.dimension == 6 && staging.name != "vector")
        // Beginning again with the same model resumes; with another model it is refused.
        #expect(try await store.beginReembedding(of: "vector", with: replacement) == staging)
        await #expect(throws: StoreError.self) {
            try await store.beginReembedding(of: "vector", with: VectorColumn(name: "vector", role: .quality, dimension: 7, modelID: "x"))
        }
        try await store.setVectors(
            (0..<3).map { EpisodeVector(agentID: "a", episodeID: "r\($0)", vector: vector(0.2, 6)) }, column: staging.name)
        #expect(try await !store.finishReembedding(of: "vector"))
        // Until then searches use the old vectors.
        #expect(try await store.similaritySearch(vector: vector(0.1, 12), column: "vector", topK: 10, agentID: "a").count == 4)
        try await store.setVectors([EpisodeVector(agentID: "a", episodeID: "r3", vector: vector(0.2, 6))], column: staging.name)
        #expect(try await store.finishReembedding(of: "vector"))
        // This store's columns are stale now: it refuses to write, a reopened one has the new column.
        await #expect(throws: StoreError.columnsChanged(location: store.location)) {
            try await store.add(Episode(agentID: "a", content: "late"), vectors: ["vector": vector(0.1, 12)])
        }
        let reopened = try await h.reopen()
        let column = try reopened.column(named: "vector")
        #expect(column.dimension == 6 && column.modelID == "new-model" && column.modelSHA256 == "cc")
        #expect(
            try await reopened.vectors(column: "vector", agentID: "a", episodeIDs: ["r0", "r3"]) == [
                "r0": vector(0.2, 6), "r3": vector(0.2, 6),
            ])
        #expect(try await reopened.similaritySearch(vector: vector(0.2, 6), column: "vector", topK: 10, agentID: "a").count == 4)
        #expect(reopened.columns.count == 2)
        // A cancelled re-embedding leaves the column as it was.
        let again = try await reopened.beginReembedding(
            of: "vector", with: VectorColumn(name: "vector", role: .quality, dimension: 3, modelID: "third"))
        try await reopened.setVectors([EpisodeVector(agentID: "a", episodeID: "r0", vector: vector(1, 3))], column: again.name)
        try await reopened.cancelReembedding(of: "vector")
        #expect(try await reopened.vectorCount(column: "vector", agentID: nil) == 4)
        await #expect(throws: StoreError.self) { try await reopened.finishReembedding(of: "vector") }
        await reopened.close()
        await h.cleanup()
    }
    /// A stage's scores of candidates another stage found: the inner products with the stored
    /// vectors, within the agent, before and after a search loaded any in-memory index.
    @Test(arguments: Backend.allCases)
    func scoresOfCandidatesAreInnerProductsWithinTheAgent(_ backend: Backend) async throws {
        let h = try await StoreHarness.make(backend)
        let store = h.store
        var stored: [String: [Float]] = [:]
        for i in 0..<5 {
            let v = (0..<12).map { Float(($0 * 7 + i * 3) % 11) / 10 - 0.5 }
            stored["e\(i)"] = v
            try await store.add(Episode(id: "e\(i)", agentID: "a", content: "text \(i)"), vectors: ["vector": v])
        }
        // Another agent's episode of the same id is not this agent's.
        try await store.add(Episode(id: "e0", agentID: "b", content: "other"), vectors: ["vector": vector(1, 12)])
        try await store.add(Episode(id: "novector", agentID: "a", content: "no quality vector yet"))
        let query = (0..<12).map { Float($0 % 5) / 5 - 0.3 }
        func expected(_ id: String) -> Float { zip(stored[id]!, query).map { $0 * $1 }.reduce(0, +) }
        for round in 0..<2 {
            if round == 1 { _ = try await store.similaritySearch(vector: query, column: "vector", topK: 2, agentID: "a") }
            let scores = try await store.scores(of: query, column: "vector", agentID: "a", episodeIDs: ["e0", "e3", "novector", "missing"])
            #expect(Set(scores.keys) == ["e0", "e3"])
            for (id, score) in scores { #expect(abs(score - expected(id)) < 1e-5, "\(backend) round \(round): \(id)") }
        }
        await #expect(throws: StoreError.vector(.dimensionMismatch(column: "vector", expected: 12, actual: 3))) {
            try await store.scores(of: [1, 2, 3], column: "vector", agentID: "a", episodeIDs: ["e0"])
        }
        await h.cleanup()
    }
}
