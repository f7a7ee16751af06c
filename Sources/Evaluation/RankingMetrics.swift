import EpisodicMemory
import Foundation

/// Retrieval metrics as trec_eval defines them, for one query: `ranking` is the retrieved
/// document ids best first, `relevance` the judged documents with their grade (grade > 0 is
/// relevant).
public enum RankingMetrics {
    /// |relevant ∩ top k| / |relevant| (0 when nothing is relevant).
    public static func recall(at k: Int, ranking: [String], relevance: [String: Int]) -> Double {
        let relevant = relevance.filter { $0.value > 0 }
        guard !relevant.isEmpty else { return 0 }
        let found = ranking.prefix(k).filter { (relevant[$0] ?? 0) > 0 }.count
        return Double(found) / Double(relevant.count)
    }

    /// nDCG@k with the grade as gain and a log2(rank + 1) discount; the ideal ranking orders all
    /// judged relevant documents by grade (trec_eval's ndcg_cut).
    public static func ndcg(at k: Int, ranking: [String], relevance: [String: Int]) -> Double {
        func dcg(_ gains: [Int]) -> Double {
            gains.prefix(k).enumerated().reduce(0) { $0 + Double($1.element) / log2(Double($1.offset) + 2) }
        }
        let ideal = dcg(relevance.values.filter { $0 > 0 }.sorted(by: >))
        guard ideal > 0 else { return 0 }
        return dcg(ranking.map { max(0, relevance[$0] ?? 0) }) / ideal
    }

    /// 1 / rank of the first relevant document within the top k, else 0.
    public static func reciprocalRank(at k: Int, ranking: [String], relevance: [String: Int]) -> Double {
        for (i, id) in ranking.prefix(k).enumerated() where (relevance[id] ?? 0) > 0 { return 1 / Double(i + 1) }
        return 0
    }

    /// Means over queries of Recall@5/10/50/100, nDCG@10 and MRR@10.
    public struct Summary: Sendable, Equatable {
        public var queries = 0
        public var recall5 = 0.0, recall10 = 0.0, recall50 = 0.0, recall100 = 0.0
        public var ndcg10 = 0.0
        public var mrr10 = 0.0
        /// Recall over the whole ranking: for the hybrid pipeline, of every candidate any stage
        /// proposed — the ceiling the final order works under.
        public var recallAll = 0.0

        public init() {}

        /// Adds one query's figures.
        public mutating func add(ranking: [String], relevance: [String: Int]) {
            queries += 1
            recall5 += RankingMetrics.recall(at: 5, ranking: ranking, relevance: relevance)
            recall10 += RankingMetrics.recall(at: 10, ranking: ranking, relevance: relevance)
            recall50 += RankingMetrics.recall(at: 50, ranking: ranking, relevance: relevance)
            recall100 += RankingMetrics.recall(at: 100, ranking: ranking, relevance: relevance)
            ndcg10 += RankingMetrics.ndcg(at: 10, ranking: ranking, relevance: relevance)
            mrr10 += RankingMetrics.reciprocalRank(at: 10, ranking: ranking, relevance: relevance)
            recallAll += RankingMetrics.recall(at: ranking.count, ranking: ranking, relevance: relevance)
        }

        /// The means.
        public var mean: Summary {
            guard queries > 0 else { return self }
            var m = self
            let n = Double(queries)
            m.recall5 /= n; m.recall10 /= n; m.recall50 /= n; m.recall100 /= n; m.ndcg10 /= n; m.mrr10 /= n; m.recallAll /= n
            return m
        }
    }
}
