import EpisodeStore
import Testing
import VectorSearch

@testable import HybridRetrieval

/// The fusion functions on hand-computed cases: no models, no store.
@Suite struct RankFusionTests {
    let dense = [
        ScoredEpisode(episodeID: "a", score: 0.9, column: "f"), ScoredEpisode(episodeID: "b", score: 0.8, column: "f"),
        ScoredEpisode(episodeID: "c", score: 0.7, column: "f"),
    ]
    let lexical = [LexicalHit(episodeID: "c", score: 12), LexicalHit(episodeID: "d", score: 3)]

    @Test func coarseIsReciprocalRankFusion() {
        let fused = RankFusion.coarse(dense: dense, lexical: lexical, k: 60)
        // c: 1/63 + 1/61 = 0.032266…; a: 1/61; b: 1/62; d: 1/62 (ties by id: b before d).
        #expect(fused.map(\.id) == ["c", "a", "b", "d"])
        #expect(abs(fused[0].coarseScore - (1.0 / 63 + 1.0 / 61)) < 1e-12)
        #expect(fused[0].denseRank == 3 && fused[0].lexicalRank == 1 && fused[0].lexicalScore == 12)
        #expect(fused[3].denseRank == nil && fused[3].denseScore == nil)
    }

    @Test func finalOrderPutsRerankedFirstAndKeepsEveryCandidate() {
        var candidates = RankFusion.coarse(dense: dense, lexical: lexical, k: 60)
        RankFusion.rankQuality(&candidates, scores: ["a": 0.2, "b": 0.9])
        #expect(candidates.first { $0.id == "b" }?.qualityRank == 1 && candidates.first { $0.id == "a" }?.qualityRank == 2)
        let final = RankFusion.final(candidates, k: 60, weights: .init())
        // b: 1/62 + 1/61 = 0.03252; a: 1/61 + 1/62 = 0.03252 — a tie, broken by id.
        #expect(final.map(\.candidate.id) == ["a", "b", "c", "d"])
        #expect(final.map(\.reranked) == [true, true, false, false])
        #expect(abs(final[0].score - (1.0 / 61 + 1.0 / 62)) < 1e-12)
        // Heavier quality weight: b's quality rank 1 wins.
        let weighted = RankFusion.final(candidates, k: 60, weights: .init(dense: 1, lexical: 1, quality: 2))
        #expect(weighted.map(\.candidate.id).prefix(2) == ["b", "a"])
        #expect(Set(weighted.map(\.candidate.id)) == ["a", "b", "c", "d"])
    }

    @Test func fallbackReasonsHaveStableCodesAndSayWhatToFix() {
        #expect(
            FallbackReason.timeBudgetExceeded(stage: "rerank", budgetMs: 2000).description
                == "time budget of 2000 ms exceeded while reranking")
        #expect(FallbackReason.modelUnavailable("model directory not found: /x").code == "model_unavailable")
        #expect(FallbackReason.noQualityColumn.description == "the store has no quality column")
    }
}
