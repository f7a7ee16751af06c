import EpisodicMemory
import Foundation
import TestSupport
import Testing

/// The facade as a library user meets it: `import EpisodicMemory` and nothing else.
@Suite struct EpisodicMemoryTests {
    /// all-MiniLM-L6-v2 (fast) and the tiny BERT (quality, 1024-d).
    static func configuration() -> EpisodicMemory.Configuration {
        var configuration = EpisodicMemory.Configuration()
        configuration.qualityModel = "tiny-bert-cls-1024"
        configuration.qualityModelDirectory = Fixtures.tinyBert
        return configuration
    }

    @Test func addRetrieveListAndDeleteThroughTheFacade() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let memory = try await EpisodicMemory.open(tmp.path("m.sqlite"), configuration: Self.configuration())
        #expect(memory.columns.map(\.dimension).sorted() == [384, 1024])
        let stored = try await memory.add([
            Episode(id: "flight", agentID: "planner", content: "Booked flight TP1355 to Lisbon, Friday 9:10, seat 14A"),
            Episode(id: "food", agentID: "planner", content: "Alice prefers vegetarian restaurants"),
            Episode(id: "flight", agentID: "other", content: "Another agent's episode with the same id"),
        ])
        #expect(stored.allSatisfy { $0.fastembedCached && $0.embeddingCached } && stored.count == 3)
        let response = try await memory.retrieve(
            agentID: "planner", query: "which seat do I have to Lisbon?",
            options: .init(limit: 2, timeBudgetMs: nil))
        #expect(response.results.map(\.episode.id) == ["flight", "food"])
        #expect(response.results.allSatisfy { $0.episode.agentID == "planner" && $0.stage == .reranked })
        let page = try await memory.episodes(agentID: "planner", limit: 1)
        #expect(page.episodes.count == 1 && page.next != nil)
        let rest = try await memory.episodes(agentID: "planner", limit: 1, after: page.next)
        #expect(Set((page.episodes + rest.episodes).map(\.id)) == ["flight", "food"])
        #expect(try await memory.delete(agentID: "planner", id: "flight"))
        await #expect(throws: StoreError.episodeNotFound("flight")) { try await memory.episode(agentID: "planner", id: "flight") }
        #expect(try await memory.episode(agentID: "other", id: "flight").content.hasPrefix("Another agent"))
        await memory.close()
    }

    /// A bounded close reports whether closing finished; what it did not wait for still completes
    /// and loses nothing.
    @Test func aBoundedCloseSaysWhetherItFinished() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let path = tmp.path("m.sqlite")
        let memory = try await EpisodicMemory.open(path, configuration: Self.configuration())
        _ = try await memory.add([Episode(id: "e", agentID: "a", content: "kept through a close not waited for")])
        #expect(await memory.close(within: 0) == false, "a zero budget cannot have waited for the close")
        let second = try await EpisodicMemory.open(path, configuration: Self.configuration())
        #expect(try await second.episode(agentID: "a", id: "e").content.hasPrefix("kept"))
        #expect(await second.close(within: 60), "closing an idle SQLite store took over a minute")
    }

    @Test func openingAndCreatingRefuseWhatTheyShould() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        var existingOnly = Self.configuration()
        existingOnly.createIfMissing = false
        await #expect(throws: StoreError.storeNotFound(location: tmp.path("none.sqlite"))) {
            try await EpisodicMemory.open(tmp.path("none.sqlite"), configuration: existingOnly)
        }
        let column = VectorColumn(name: "vector_fastembed", role: .fast, dimension: 4, modelID: "m")
        await (try await EpisodicMemory.create(tmp.path("m.sqlite"), columns: [column])).close()
        await #expect(throws: StoreError.self) { try await EpisodicMemory.create(tmp.path("m.sqlite"), columns: [column]) }
        await #expect(throws: StoreError.self) { try await EpisodicMemory.open("postgres://u:secret@127.0.0.1:1/db") }
        #expect(StoreLocation.redacted("postgres://u:secret@h:5432/db") == "postgres://u:***@h:5432/db")
    }

    @Test func reembeddingResumesAndEqualsAStoreBuiltFreshWithTheNewModel() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let texts = (0..<40).map {
            "Episode \($0): the agent \(["booked", "paid", "reviewed", "cancelled"][$0 % 4]) item \($0 * 7) for the user."
        }
        let episodes = texts.enumerated().map { Episode(id: "e\($0.offset)", agentID: "a", content: $0.element) }
        // float32 throughout: part of the new vectors come from a SentenceEmbedder made here.
        var exact = Self.configuration()
        exact.precision = .fp32
        let memory = try await EpisodicMemory.open(tmp.path("m.sqlite"), configuration: exact)
        try await memory.add(episodes)
        // An interrupted run: the staging column exists and holds part of the new vectors.
        let mpnet = try SentenceEmbedder(directory: Fixtures.mpnet)
        let replacement = VectorColumn(
            name: "vector", role: .quality, dimension: 768, modelID: "sentence-transformers/all-mpnet-base-v2",
            modelSHA256: try ModelFingerprint.sha256(ofModelIn: Fixtures.mpnet))
        let staging = try await memory.store.beginReembedding(of: "vector", with: replacement)
        let firstPart = Array(episodes.prefix(15))
        try await memory.store.setVectors(
            zip(firstPart, try mpnet.embed(firstPart.map(\.content))).map {
                EpisodeVector(agentID: "a", episodeID: $0.id, vector: $1)
            }, column: staging.name)
        // Searching meanwhile still uses the old model's vectors.
        #expect(try await memory.search(agentID: "a", column: "vector", query: "paid", topK: 3).count == 3)
        // The rerun computes only what is missing, then switches the column.
        let computed = try await memory.reembed(role: .quality, model: "all-mpnet-base-v2", directory: Fixtures.mpnet, batchSize: 8)
        #expect(computed == 25)
        await memory.close()

        var plain = EpisodicMemory.Configuration()
        plain.precision = .fp32
        let reopened = try await EpisodicMemory.open(tmp.path("m.sqlite"), configuration: plain)
        let column = try #require(reopened.column(role: .quality))
        #expect(column.dimension == 768 && column.modelID == replacement.modelID && column.modelSHA256 == replacement.modelSHA256)
        // A store built fresh with the new model answers the same, scores included.
        var freshConfiguration = plain
        freshConfiguration.qualityModel = "all-mpnet-base-v2"
        let fresh = try await EpisodicMemory.open(tmp.path("fresh.sqlite"), configuration: freshConfiguration)
        try await fresh.add(episodes)
        for query in ["who paid for item 14?", "cancelled bookings", "reviewed"] {
            let a = try await reopened.search(agentID: "a", column: "vector", query: query, topK: 10)
            let b = try await fresh.search(agentID: "a", column: "vector", query: query, topK: 10)
            #expect(a.map(\.episode.id) == b.map(\.episode.id), "\(query)")
            #expect(zip(a, b).allSatisfy { abs($0.score - $1.score) < 1e-6 })
        }
        // Nothing is left to re-embed: hybrid retrieval uses the new column with no fallback.
        #expect(try await reopened.missingVectors(role: .quality) == 0)
        let hybrid = try await reopened.retrieve(agentID: "a", query: "item 21", options: .init(limit: 3, timeBudgetMs: nil))
        #expect(hybrid.fallbackReason == nil && hybrid.results.count == 3)
        await reopened.close()
        await fresh.close()
    }
}
