import Dispatch
import EpisodicMemory
import Foundation

/// What `episodic eval` measures.
public enum EvaluationMode: String, Sendable, CaseIterable {
    /// Fast-vector search only (`retrieveBaseline`): the A/B baseline.
    case baseline
    /// BM25 only.
    case lexical
    /// Dense + BM25 fused, no rerank.
    case coarse
    /// Quality-vector search only.
    case quality
    /// The full pipeline.
    case hybrid
}

/// What an ingested document is embedded and indexed with besides its own text (`--context`).
public enum EpisodeContext: String, Sendable, CaseIterable {
    case none
    /// The previous document of the same agent, then the document (as the episode's summary).
    case previousTurn = "previous-turn"
}

/// Metrics and stage latencies of one mode over a dataset.
public struct EvaluationReport: Sendable {
    public var mode: EvaluationMode
    public var metrics: RankingMetrics.Summary
    /// Stage name → milliseconds per query.
    public var stageTimings: [String: [Double]]
    /// Queries answered by the coarse fallback.
    public var fallbacks: Int
    /// The metrics of each query category, when queries carry one.
    public var byCategory: [String: RankingMetrics.Summary] = [:]

    public func percentile(_ stage: String, _ p: Double) -> Double {
        let sorted = (stageTimings[stage] ?? []).sorted()
        return sorted.isEmpty ? 0 : sorted[Int(p * Double(sorted.count - 1))]
    }
}

/// Runs a BEIR dataset through the retrieval modes: each query searched within its agent.
public struct Evaluator: Sendable {
    public let dataset: BEIRDataset
    public let memory: EpisodicMemory
    public var options: RetrievalOptions

    public init(dataset: BEIRDataset, memory: EpisodicMemory, options: RetrievalOptions = .init(limit: 100, timeBudgetMs: nil)) {
        self.dataset = dataset
        self.memory = memory
        self.options = options
    }

    /// Stores every document as an episode of its agent, with both vectors, in batches; skips
    /// documents already present (a rerun continues an interrupted ingest).
    /// Adds the documents the memory does not hold yet. With `placeholderFastVector`, every
    /// document gets that vector instead of an embedding (a store for the lexical stage alone,
    /// whose fast column no model fills) and no quality vector.
    public static func ingest(
        _ dataset: BEIRDataset, into memory: EpisodicMemory, batchSize: Int = 64, placeholderFastVector: [Float]? = nil,
        context: EpisodeContext = .none, progress: (Int, Int) -> Void = { _, _ in }
    ) async throws {
        // Each document's predecessor in its agent's memory (corpus order is conversation order).
        var previous: [String: String] = [:]
        var last: [String: String] = [:]
        for document in dataset.documents {
            if let text = last[document.agent] { previous[document.id] = text }
            last[document.agent] = document.text
        }
        var missing: [BEIRDataset.Document] = []
        for (agent, documents) in Dictionary(grouping: dataset.documents, by: \.agent) {
            let present = try await memory.existingIDs(agentID: agent, among: documents.map(\.id))
            missing += documents.filter { !present.contains($0.id) }
        }
        var done = 0
        for start in stride(from: 0, to: missing.count, by: batchSize) {
            let batch = missing[start..<min(missing.count, start + batchSize)]
            let episodes = batch.map { document -> Episode in
                var episode = Episode(id: document.id, agentID: document.agent, content: document.text)
                // The text that is embedded and indexed besides the content: the previous turn.
                if context == .previousTurn, let before = previous[document.id] { episode.summary = before + "\n" + document.text }
                return episode
            }
            if let placeholderFastVector, let fast = memory.column(role: .fast) {
                try await memory.add(episodes.map { NewEpisode($0, vectors: [fast.name: placeholderFastVector]) }, quality: .deferred)
            } else {
                try await memory.add(episodes)
            }
            done += batch.count
            progress(done, missing.count)
        }
    }

    public func run(_ mode: EvaluationMode, progress: (Int, Int) -> Void = { _, _ in }) async throws -> EvaluationReport {
        var summary = RankingMetrics.Summary()
        var byCategory: [String: RankingMetrics.Summary] = [:]
        var timings: [String: [Double]] = [:]
        var fallbacks = 0
        let k = options.limit ?? options.coarseTopK
        for (index, query) in dataset.queries.enumerated() {
            let ranking: [String]
            switch mode {
            case .baseline:
                let response = try await memory.retrieveBaseline(agentID: query.agent, query: query.text, topK: k)
                ranking = response.results.map(\.episode.id)
                record(response.timings, into: &timings)
            case .lexical:
                let start = DispatchTime.now().uptimeNanoseconds
                ranking = try await memory.lexicalSearch(agentID: query.agent, query: query.text, topK: k).map(\.episode.id)
                timings["lexical", default: []].append(Self.ms(since: start))
                timings["total", default: []].append(Self.ms(since: start))
            case .quality:
                let start = DispatchTime.now().uptimeNanoseconds
                guard let column = memory.column(role: .quality)?.name else { throw RetrievalError.noColumn(role: "quality") }
                ranking = try await memory.search(agentID: query.agent, column: column, query: query.text, topK: k).map(\.episode.id)
                timings["total", default: []].append(Self.ms(since: start))
            case .coarse, .hybrid:
                var o = options
                o.useReranking = mode == .hybrid
                o.limit = nil // every candidate, for their recall; the metrics read the top of the list
                let response = try await memory.retrieve(agentID: query.agent, query: query.text, options: o)
                ranking = response.results.map(\.episode.id)
                if response.fallbackReason != nil && mode == .hybrid { fallbacks += 1 }
                record(response.timings, into: &timings)
            }
            summary.add(ranking: ranking, relevance: dataset.qrels[query.id] ?? [:])
            if let category = query.category {
                byCategory[category, default: .init()].add(ranking: ranking, relevance: dataset.qrels[query.id] ?? [:])
            }
            progress(index + 1, dataset.queries.count)
        }
        return EvaluationReport(
            mode: mode, metrics: summary.mean, stageTimings: timings, fallbacks: fallbacks, byCategory: byCategory.mapValues(\.mean))
    }

    static func ms(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 }

    private func record(_ t: StageTimings, into timings: inout [String: [Double]]) {
        timings["query_embedding", default: []].append(t.queryEmbeddingMs)
        timings["coarse", default: []].append(t.coarseMs)
        timings["rerank", default: []].append(t.rerankMs)
        timings["total", default: []].append(t.totalMs)
    }
}
