import Foundation
import Testing

@testable import Evaluation

/// Metric functions against cases computed by hand (trec_eval definitions).
@Suite struct RankingMetricsTests {
    let ranking = ["d3", "d1", "d7", "d2", "d5"]
    let relevance = ["d1": 1, "d2": 2, "d9": 1, "d4": 0]

    @Test func recall() {
        #expect(RankingMetrics.recall(at: 1, ranking: ranking, relevance: relevance) == 0)
        #expect(abs(RankingMetrics.recall(at: 2, ranking: ranking, relevance: relevance) - 1.0 / 3) < 1e-12)
        #expect(abs(RankingMetrics.recall(at: 10, ranking: ranking, relevance: relevance) - 2.0 / 3) < 1e-12)
        #expect(RankingMetrics.recall(at: 10, ranking: ranking, relevance: ["x": 0]) == 0)
    }

    @Test func ndcg() {
        // DCG = 1/log2(3) + 2/log2(5); IDCG = 2/log2(2) + 1/log2(3) + 1/log2(4).
        let dcg = 1 / log2(3.0) + 2 / log2(5.0)
        let idcg = 2.0 + 1 / log2(3.0) + 0.5
        #expect(abs(RankingMetrics.ndcg(at: 10, ranking: ranking, relevance: relevance) - dcg / idcg) < 1e-12)
        // Cut at 3: only d1 counts; the ideal is cut at 3 too.
        #expect(abs(RankingMetrics.ndcg(at: 3, ranking: ranking, relevance: relevance) - (1 / log2(3.0)) / idcg) < 1e-12)
        #expect(RankingMetrics.ndcg(at: 10, ranking: ["d2", "d1", "d9"], relevance: relevance) == 1)
    }

    @Test func reciprocalRank() {
        #expect(RankingMetrics.reciprocalRank(at: 10, ranking: ranking, relevance: relevance) == 0.5)
        #expect(RankingMetrics.reciprocalRank(at: 1, ranking: ranking, relevance: relevance) == 0)
        #expect(RankingMetrics.reciprocalRank(at: 10, ranking: ["d9"], relevance: relevance) == 1)
    }

    @Test func summaryIsTheMeanOverQueries() {
        var summary = RankingMetrics.Summary()
        summary.add(ranking: ["a"], relevance: ["a": 1])
        summary.add(ranking: ["b"], relevance: ["a": 1])
        let mean = summary.mean
        #expect(mean.queries == 2 && mean.recall10 == 0.5 && mean.mrr10 == 0.5 && mean.ndcg10 == 0.5)
    }
}
