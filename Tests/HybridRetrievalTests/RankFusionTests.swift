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

/// Score fusion on hand-computed cases.
@Suite struct ScoreFusionTests {
    @Test func minMaxAndDistributionNormalisation() {
        let minMax = ScoreFusion.normalized(["a": 2, "b": 4, "c": 10], .minMax)
        #expect(minMax == ["a": 0, "b": 0.25, "c": 1])
        #expect(ScoreFusion.normalized(["a": 3, "b": 3], .minMax) == ["a": 1, "b": 1])
        #expect(ScoreFusion.normalized([:], .minMax).isEmpty)
        // μ = 4, σ = √(8/3): b sits at the middle of μ ± 3σ.
        let dbsf = ScoreFusion.normalized(["a": 2, "b": 4, "c": 6], .distribution)
        let sigma = (8.0 / 3).squareRoot()
        #expect(abs(dbsf["b"]! - 0.5) < 1e-12)
        #expect(abs(dbsf["c"]! - (6 - (4 - 3 * sigma)) / (6 * sigma)) < 1e-12)
        // Clipped to 0…1: one far outlier.
        let outlier = ScoreFusion.normalized(
            Dictionary(uniqueKeysWithValues: (0..<20).map { ("d\($0)", 1.0) } + [("x", 100.0)]), .distribution)
        #expect(outlier["x"] == 1 && outlier.values.allSatisfy { (0...1).contains($0) })
    }

    @Test func zScoresAreStandardDeviationsAboveTheMean() {
        // 1, 2, 3, 6: μ = 3, σ = √(14/4) = √3.5.
        let z = ScoreFusion.normalized(["a": 1, "b": 2, "c": 3, "d": 6], .zScore)
        let sigma = 3.5.squareRoot()
        #expect(abs(z["a"]! + 2 / sigma) < 1e-12 && abs(z["c"]!) < 1e-12 && abs(z["d"]! - 3 / sigma) < 1e-12)
        // Equal scores tell nothing apart: 0 each (a stage with no say in this query).
        #expect(ScoreFusion.normalized(["a": 4, "b": 4], .zScore) == ["a": 0, "b": 0])
        #expect(ScoreFusion.normalized([:], .zScore).isEmpty)
    }

    @Test func fusedScoresAreTheWeightedSumOfNormalisedScores() {
        var a = FusionCandidate(id: "a"), b = FusionCandidate(id: "b"), c = FusionCandidate(id: "c"), d = FusionCandidate(id: "d")
        a.denseScore = 0.9; a.qualityScore = 0.5
        b.denseScore = 0.5; b.lexicalScore = 10; b.qualityScore = 0.7
        c.lexicalScore = 2; c.qualityScore = 0.3
        d.denseScore = 0.7 // not scored by the quality stage
        // min–max. lexical (a and d matched nothing: 0): b 1, c 0.2, a 0, d 0; quality: a 0.5,
        // b 1, c 0; dense: a 1, b 0, d 0.5, and c (no fast vector) the stage's lowest, 0.
        let fused = ScoreFusion.fuse([a, b, c, d], weights: .init(dense: 0, lexical: 1, quality: 1), normalization: .minMax)
        #expect(fused.map(\.candidate.id) == ["b", "a", "c", "d"])
        #expect(fused.map(\.reranked) == [true, true, true, false])
        #expect(abs(fused[0].score - 2) < 1e-9 && abs(fused[1].score - 0.5) < 1e-6 && abs(fused[2].score - 0.2) < 1e-9)
        // The fast stage weighed in: a gains 0.5, d (unreranked) stays last whatever its score.
        let withDense = ScoreFusion.fuse([a, b, c, d], weights: .init(dense: 0.5, lexical: 1, quality: 1), normalization: .minMax)
        #expect(abs(withDense.first { $0.candidate.id == "a" }!.score - 1) < 1e-6)
        #expect(withDense.last?.candidate.id == "d" && abs(withDense.last!.score - 0.25) < 1e-6)
        // A lexical decisive hit beats a slightly better quality score.
        let lexicalWins = ScoreFusion.fuse([b, a], weights: .init(dense: 0, lexical: 1, quality: 1), normalization: .minMax)
        #expect(lexicalWins.first?.candidate.id == "b")
    }

    @Test func zScoreFusionByHand() {
        // Three candidates, every stage scored. lexical 0, 0, 9 (μ 3, σ √18); quality 0.6, 0.5,
        // 0.4 (μ 0.5, σ √(0.02/3)); dense 0.2, 0.4, 0.3 (μ 0.3, σ √(0.02/3)).
        var cs = ["a", "b", "c"].map { FusionCandidate(id: $0) }
        cs[2].lexicalScore = 9
        for (i, q) in [0.6, 0.5, 0.4].enumerated() { cs[i].qualityScore = Float(q) }
        for (i, d) in [0.2, 0.4, 0.3].enumerated() { cs[i].denseScore = Float(d) }
        let fused = ScoreFusion.fuse(cs, weights: .init(dense: 0.75, lexical: 0.5, quality: 1), normalization: .zScore)
        let l = 18.0.squareRoot(), s = (0.02 / 3).squareRoot()
        let expected: [String: Double] = [
            "a": 0.75 * (-0.1 / s) + 0.5 * (-3 / l) + 1 * (0.1 / s),
            "b": 0.75 * (0.1 / s) + 0.5 * (-3 / l) + 1 * 0,
            "c": 0.75 * 0 + 0.5 * (6 / l) + 1 * (-0.1 / s),
        ]
        for entry in fused { #expect(abs(entry.score - expected[entry.candidate.id]!) < 1e-5, "\(entry.candidate.id)") }
        // b (fast and quality both fair) first; the lone lexical hit c, 1.22 σ below on quality, last.
        #expect(fused.map(\.candidate.id) == ["b", "a", "c"])
        // The default weights are these.
        #expect(RankFusion.Weights.scoresDefault == .init(dense: 0.75, lexical: 0.5, quality: 1))
        let defaults = RetrievalOptions()
        #expect(defaults.normalization == .zScore)
    }

    @Test func confidenceWeightingScalesEachStageByItsBestHitsZScore() {
        // Scores 1, 1, 1, 5: μ = 2, σ = √3; the best stands (5 − 2)/√3 above.
        #expect(abs(ScoreFusion.confidence(["a": 1, "b": 1, "c": 1, "d": 5]) - 3 / 3.0.squareRoot()) < 1e-12)
        #expect(ScoreFusion.confidence(["a": 2, "b": 2]) == 0 && ScoreFusion.confidence(["a": 7]) == 0)
        // A decisive lexical stage (one hit far above) outweighs a flat quality stage.
        var candidates = ["a", "b", "c", "d"].map { FusionCandidate(id: $0) }
        for (i, s) in [1.0, 1, 1, 9].enumerated() { candidates[i].lexicalScore = s }
        for (i, s) in [0.50, 0.52, 0.54, 0.48].enumerated() { candidates[i].qualityScore = Float(s) }
        let weights = RankFusion.Weights(dense: 0, lexical: 1, quality: 1)
        let fixed = ScoreFusion.fuse(candidates, weights: weights, normalization: .minMax)
        let adaptive = ScoreFusion.fuse(candidates, weights: weights, normalization: .minMax, weighting: .confidence)
        #expect(fixed.first?.candidate.id == "c") // quality's best (0 + 1) and lexical's (1 + 0) tie: by id
        #expect(adaptive.first?.candidate.id == "d")
    }

    @Test func rankFusionStaysAvailableAndWeightsAreValidated() {
        var options = RetrievalOptions()
        #expect(options.fusion == .scores && options.effectiveWeights == .scoresDefault)
        options.fusion = .rrf
        #expect(options.effectiveWeights == .rrfDefault)
        options.weights = .init(dense: 0, lexical: 0, quality: 0)
        #expect(throws: RetrievalError.self) { try options.validate() }
        options.weights = .init(dense: -1, lexical: 1, quality: 1)
        #expect(throws: RetrievalError.self) { try options.validate() }
    }
}

/// The cross-encoder stage as a pure function of the fused order and the logits.
@Suite struct CrossEncoderStageTests {
    func entry(_ id: String, _ score: Double) -> (candidate: FusionCandidate, score: Double, reranked: Bool) {
        (FusionCandidate(id: id), score, true)
    }

    @Test func itsZScoresReorderOnlyTheTopN() {
        var ordered = [entry("a", 3), entry("b", 2.9), entry("c", 2.8), entry("d", 1)]
        // Logits over the top 3: 0, 0, 6 → μ 2, σ √8: z = −0.707, −0.707, 1.414.
        ScoreFusion.addCrossEncoder(&ordered, logits: ["a": 0, "b": 0, "c": 6], topN: 3, weight: 1)
        #expect(ordered.map(\.candidate.id) == ["c", "a", "b", "d"])
        let z = 4 / 8.0.squareRoot()
        #expect(abs(ordered[0].score - (2.8 + z)) < 1e-12)
        #expect(abs(ordered[1].score - (3 - z / 2)) < 1e-12)
        #expect(ordered[3].score == 1) // beyond N: untouched, still last
        // Weight 0 changes nothing; no logits change nothing.
        var same = [entry("a", 3), entry("b", 2)]
        ScoreFusion.addCrossEncoder(&same, logits: ["a": -5, "b": 5], topN: 2, weight: 0)
        #expect(same.map(\.candidate.id) == ["a", "b"])
        ScoreFusion.addCrossEncoder(&same, logits: [:], topN: 2, weight: 1)
        #expect(same.map(\.candidate.id) == ["a", "b"])
    }
}
