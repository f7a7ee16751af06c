import Dispatch
import EpisodeStore
import Foundation
import TestSupport
import Testing
import TextEmbedding

@testable import HybridRetrieval

/// The batching engine with the real all-MiniLM-L6-v2: concurrent requests share forward passes
/// and get the vectors they would have got alone; a queued request gives up at its deadline.
@Suite struct EmbeddingBatcherTests {
    static let model = Result { try SentenceEmbedder(directory: Fixtures.miniLM) }

    static let texts = (0..<48).map { i in
        "Episode \(i): the agent \(["booked", "cancelled", "moved", "paid"][i % 4]) item \(i * 7) for user \(i % 5)"
            + String(repeating: " and more detail", count: i % 6)
    }

    @Test func concurrentRequestsShareForwardPassesAndGetTheirOwnVectors() async throws {
        let model = try Self.model.get()
        let batcher = EmbeddingBatcher()
        defer { batcher.stop() }
        let alone = try Self.texts.map { try model.embed($0) }
        let results = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for (i, text) in Self.texts.enumerated() {
                group.addTask { (i, try await batcher.embed([text], as: .passage, with: model)[0]) }
            }
            var out: [Int: [Float]] = [:]
            for try await (i, v) in group { out[i] = v }
            return out
        }
        #expect(results.count == Self.texts.count)
        for (i, vector) in results {
            // Another batch packs other rows beside this one: the same vector up to float rounding.
            #expect(cosine(vector, alone[i]) >= 0.99999, "text \(i): cosine \(cosine(vector, alone[i]))")
        }
        let statistics = batcher.currentStatistics
        #expect(statistics.requests == Self.texts.count)
        #expect(statistics.passes < Self.texts.count, "no two requests shared a pass: \(statistics)")
        #expect(statistics.largestPass > 1)
    }

    @Test func aRequestWithSeveralTextsGetsThemInOrder() async throws {
        let model = try Self.model.get()
        let batcher = EmbeddingBatcher()
        defer { batcher.stop() }
        let texts = Array(Self.texts.prefix(7))
        let vectors = try await batcher.embed(texts, as: .passage, with: model)
        #expect(vectors.count == 7)
        for (text, vector) in zip(texts, vectors) { #expect(cosine(vector, try model.embed(text)) >= 0.99999) }
        #expect(try await batcher.embed([], as: .query, with: model).isEmpty)
    }

    @Test func aQueuedRequestGivesUpAtItsDeadlineAndOthersStillFinish() async throws {
        let model = try Self.model.get()
        // One token per pass: every request runs alone, so a queue forms behind the long ones.
        let batcher = EmbeddingBatcher(maxTokensPerPass: 1)
        defer { batcher.stop() }
        let long = String(repeating: "a long episode text about flights and hotels ", count: 40)
        // Until a queue of three has formed behind the pass that runs. On a loaded machine the
        // requests may reach the engine one at a time, each served before the next arrives: once
        // every request sent has had its pass, six more are sent.
        var busy: [Task<[[Float]], any Error>] = []
        let waitStarted = Date()
        while batcher.currentStatistics.queued < 3 {
            try #require(Date().timeIntervalSince(waitStarted) < 120, "no queue of three formed in 120 s: \(batcher.currentStatistics)")
            if batcher.currentStatistics.requests == busy.count {
                busy += (0..<6).map { _ in Task { try await batcher.embed([long], as: .passage, with: model) } }
            }
            try await Task.sleep(nanoseconds: 200_000)
        }
        let deadline = DispatchTime.now().uptimeNanoseconds + 1_000_000 // 1 ms
        await #expect(throws: EmbeddingBatcher.DeadlineExceeded.self) {
            _ = try await batcher.embed(["where is my hotel?"], as: .query, with: model, deadline: deadline)
        }
        // Already past: refused at once.
        await #expect(throws: EmbeddingBatcher.DeadlineExceeded.self) {
            _ = try await batcher.embed(["x"], as: .query, with: model, deadline: DispatchTime.now().uptimeNanoseconds)
        }
        for task in busy { #expect(try await task.value.count == 1) }
        #expect(batcher.currentStatistics.expired == 2)
        // Without a deadline a request waits its turn.
        #expect(try await batcher.embed(["after the queue"], as: .query, with: model).count == 1)
    }

    @Test func aRequestAfterStopFailsInsteadOfWaitingForever() async throws {
        let model = try Self.model.get()
        let batcher = EmbeddingBatcher()
        #expect(try await batcher.embed(["before the stop"], as: .query, with: model).count == 1)
        batcher.stop()
        await #expect(throws: EmbeddingBatcher.Stopped.self) {
            _ = try await batcher.embed(["after the stop"], as: .query, with: model)
        }
    }

    /// A batching service (all-MiniLM-L6-v2 fast, the tiny BERT quality model) over a new store in
    /// `directory`.
    static func batchedService(in directory: TemporaryDirectory) throws -> (SQLiteEpisodeStore, EmbeddingService) {
        let store = try SQLiteEpisodeStore(
            path: directory.path("m.sqlite"),
            configuration: .init(columns: [RetrievalFixture.fastColumn, RetrievalFixture.qualityColumn], createIfMissing: true))
        var configuration = EmbeddingServiceConfiguration(fastModelDirectory: Fixtures.miniLM, qualityModelDirectory: Fixtures.tinyBert)
        configuration.batching = true
        return (store, try EmbeddingService(store: store, configuration: configuration))
    }

    /// Concurrent synchronous writes through the batcher (both models' passages queued at once)
    /// store both vectors of every episode, each the model's own vector of the text (within the
    /// bf16 gate: the service runs the default precision).
    @Test func batchedWritesStoreBothModelsVectors() async throws {
        let directory = try TemporaryDirectory("episodic-batcher")
        defer { directory.remove() }
        let (store, service) = try Self.batchedService(in: directory)
        let texts = RetrievalFixture.episodes
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (i, text) in texts.enumerated() {
                group.addTask { _ = try await service.add([NewEpisode(Episode(id: "e\(i)", agentID: "a", content: text))]) }
            }
            try await group.waitForAll()
        }
        let ids = texts.indices.map { "e\($0)" }
        for episode in try await store.episodes(agentID: "a", ids: ids) { #expect(episode.fastembedCached && episode.embeddingCached) }
        for (column, directory) in [(RetrievalFixture.fastColumn, Fixtures.miniLM), (RetrievalFixture.qualityColumn, Fixtures.tinyBert)] {
            let stored = try await store.vectors(column: column.name, agentID: "a", episodeIDs: ids)
            let expected = try SentenceEmbedder(directory: directory).embed(texts, as: .passage)
            for (i, vector) in expected.enumerated() {
                let cosine = zip(vector, stored["e\(i)"] ?? []).reduce(Float(0)) { $0 + $1.0 * $1.1 }
                #expect(cosine > 0.999, "\(column.name) of e\(i): cosine \(cosine)")
            }
        }
        await service.shutdown()
    }

    @Test func aBatchedServiceRetrievesAndFallsBackPastItsBudget() async throws {
        let directory = try TemporaryDirectory("episodic-batcher")
        defer { directory.remove() }
        let (_, service) = try Self.batchedService(in: directory)
        #expect(service.batcher != nil)
        try await service.add(
            RetrievalFixture.episodes.enumerated().map { NewEpisode(Episode(id: "e\($0.offset)", agentID: "a", content: $0.element)) })
        let retriever = HybridRetriever(service: service)
        let answer = try await retriever.retrieve(agentID: "a", query: "flight to Lisbon", options: .init(limit: 3, timeBudgetMs: nil))
        #expect(answer.fallbackReason == nil)
        #expect(answer.results.first?.episode.id == "e0")
        #expect(answer.results.allSatisfy { $0.stage == .reranked })

        // A budget already spent when the quality embedding is queued: the coarse ranking, tagged.
        var hurried = RetrievalOptions(limit: 3, timeBudgetMs: 0)
        hurried.useReranking = true
        let fallback = try await retriever.retrieve(agentID: "a", query: "flight to Lisbon", options: hurried)
        #expect(fallback.results.count == 3)
        if case .timeBudgetExceeded = fallback.fallbackReason {} else {
            Issue.record("expected a time-budget fallback, got \(String(describing: fallback.fallbackReason))")
        }
        #expect(fallback.results.allSatisfy { $0.stage == .coarseFallback })
        await service.shutdown()
    }
}

/// The optional cross-encoder stage in a real retrieval: off until a model is installed; with one,
/// the top N carry its logits and are ordered by fused score + its z-score.
@Suite struct CrossEncoderRetrievalTests {
    @Test func theStageRescoresTheTopNWhenInstalled() async throws {
        let directory = try TemporaryDirectory("episodic-cross")
        defer { directory.remove() }
        let store = try SQLiteEpisodeStore(
            path: directory.path("m.sqlite"),
            configuration: .init(columns: [RetrievalFixture.fastColumn, RetrievalFixture.qualityColumn], createIfMissing: true))
        var configuration = EmbeddingServiceConfiguration(fastModelDirectory: Fixtures.miniLM, qualityModelDirectory: Fixtures.tinyBert)
        configuration.crossEncoderDirectory = directory.url.appendingPathComponent("not-installed")
        let plain = try EmbeddingService(store: store, configuration: configuration)
        try await plain.add(
            RetrievalFixture.episodes.enumerated().map { NewEpisode(Episode(id: "e\($0.offset)", agentID: "a", content: $0.element)) })
        var options = RetrievalOptions(limit: 12, timeBudgetMs: nil)
        let without = try await HybridRetriever(service: plain).retrieve(agentID: "a", query: "flight to Lisbon", options: options)
        #expect(without.results.allSatisfy { $0.crossEncoderScore == nil })
        #expect(without.timings.crossEncoderMs == 0)

        configuration.crossEncoderDirectory = Fixtures.tinyCrossEncoder
        let service = try EmbeddingService(store: store, configuration: configuration)
        options.crossEncoderTopN = 5
        let with = try await HybridRetriever(service: service).retrieve(agentID: "a", query: "flight to Lisbon", options: options)
        #expect(with.results.count == without.results.count)
        #expect(with.timings.crossEncoderMs > 0)
        let scored = with.results.prefix(5)
        #expect(scored.allSatisfy { $0.crossEncoderScore != nil })
        #expect(with.results.dropFirst(5).allSatisfy { $0.crossEncoderScore == nil })
        // The same five as without it, re-sorted; the rest unchanged.
        #expect(Set(scored.map(\.episode.id)) == Set(without.results.prefix(5).map(\.episode.id)))
        #expect(Array(with.results.dropFirst(5).map(\.episode.id)) == Array(without.results.dropFirst(5).map(\.episode.id)))
        // Their logits are the model's own for (query, text).
        let model = try CrossEncoder(directory: Fixtures.tinyCrossEncoder)
        let logits = try model.scores(query: "flight to Lisbon", passages: scored.map(\.episode.content))
        for (r, logit) in zip(scored, logits) { #expect(abs(r.crossEncoderScore! - logit) < 1e-5) }
        // The order: fused score + z(logit), as the pure function computes it.
        var expected = without.results.prefix(5).map { (candidate: FusionCandidate(id: $0.episode.id), score: $0.finalScore, reranked: true) }
        let byID = Dictionary(uniqueKeysWithValues: scored.map { ($0.episode.id, Double($0.crossEncoderScore!)) })
        ScoreFusion.addCrossEncoder(&expected, logits: byID, topN: 5, weight: 1)
        #expect(expected.map(\.candidate.id) == scored.map(\.episode.id))
    }
}
