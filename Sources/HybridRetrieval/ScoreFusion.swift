import Foundation

/// How the final order combines the stages.
public enum FusionMethod: String, Sendable, Equatable, CaseIterable {
    /// Each stage's scores normalised per query, then a weighted sum
    /// (``ScoreFusion/fuse(_:weights:normalization:)``): how decisive a stage is survives.
    case scores
    /// Reciprocal-rank fusion, Σ wᵢ / (k + rankᵢ) (``RankFusion/final(_:k:weights:)``): ranks only.
    case rrf
}

/// How one stage's scores are brought to a common scale within a query.
public enum ScoreNormalization: String, Sendable, Equatable, CaseIterable {
    /// (s − μ) / σ over the candidates: how many standard deviations a candidate stands above the
    /// others. A stage whose best hit stands far out (one name only one turn holds) keeps that
    /// margin, where min–max maps every stage's best hit to 1 however (in)decisive it is. The
    /// default: across the evaluation sets it is the one normalisation under which no set's
    /// hybrid order fell below its best single stage.
    case zScore = "z_score"
    /// (s − min) / (max − min) over the stage's list.
    case minMax = "min_max"
    /// Distribution-based (Qdrant's DBSF): (s − (μ − 3σ)) / 6σ over the stage's list, clipped to 0…1 —
    /// one outlier does not squash the rest as it does under min–max.
    case distribution = "dbsf"
}

/// Whether each stage's weight is fixed or scaled per query by how decisive its scores are.
public enum FusionWeighting: String, Sendable, Equatable, CaseIterable {
    case fixed
    /// Each stage's weight times the z-score of its best hit within its own list, (max − μ) / σ: a
    /// stage whose best hit stands far above the rest (a name only one turn holds) counts more for
    /// that query than one whose scores are flat.
    case confidence
}

/// Score-based fusion of the stages (Bruch, Gai and Ingber 2023, "An Analysis of Fusion Functions
/// for Hybrid Retrieval": a convex combination of normalised scores beats rank fusion and needs few
/// parameters). Pure functions of the candidates' scores, testable without models.
public enum ScoreFusion {
    /// `scores` normalised per ``ScoreNormalization``; ids absent from `scores` are absent here too
    /// (a fused score counts them as 0: below every hit of that stage). A list whose scores are all
    /// equal normalises to 1 for each (every hit is equally a hit).
    public static func normalized(_ scores: [String: Double], _ method: ScoreNormalization) -> [String: Double] {
        guard let low = scores.values.min(), let high = scores.values.max() else { return [:] }
        guard high > low else { return scores.mapValues { _ in method == .zScore ? 0 : 1 } }
        switch method {
        case .zScore:
            let n = Double(scores.count)
            let mean = scores.values.reduce(0, +) / n
            let sigma = (scores.values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n).squareRoot()
            return scores.mapValues { ($0 - mean) / sigma }
        case .minMax:
            return scores.mapValues { ($0 - low) / (high - low) }
        case .distribution:
            let n = Double(scores.count)
            let mean = scores.values.reduce(0, +) / n
            let variance = scores.values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
            let sigma = variance.squareRoot()
            guard sigma > 0 else { return scores.mapValues { _ in 1 } }
            let floor = mean - 3 * sigma
            return scores.mapValues { min(1, max(0, ($0 - floor) / (6 * sigma))) }
        }
    }

    /// The final order: each candidate's fused score Σ wᵢ · normᵢ(scoreᵢ) over the dense, lexical and
    /// quality stages, normalised over the candidates. A candidate BM25 did not return scores 0 on
    /// that stage (it matches no query word, or too weakly for the top-K); one without a dense or
    /// quality score (no stored vector) gets that stage's lowest normalised score. Candidates the
    /// quality stage scored come first (`reranked`), then the others by the same sum without it.
    /// Ties by id.
    public static func fuse(
        _ candidates: [FusionCandidate], weights: RankFusion.Weights, normalization: ScoreNormalization,
        weighting: FusionWeighting = .fixed
    ) -> [(candidate: FusionCandidate, score: Double, reranked: Bool)] {
        func stage(_ weight: Double, fillingWithZero: Bool = false, _ score: (FusionCandidate) -> Double?)
            -> (scores: [String: Double], floor: Double, weight: Double)
        {
            guard weight > 0 else { return ([:], 0, 0) }
            var scores: [String: Double] = [:]
            for c in candidates {
                if let s = score(c), s.isFinite { scores[c.id] = s } else if fillingWithZero { scores[c.id] = 0 }
            }
            let normalizedScores = normalized(scores, normalization)
            return (
                normalizedScores, normalizedScores.values.min() ?? 0,
                weighting == .confidence ? weight * confidence(scores) : weight
            )
        }
        let dense = stage(weights.dense) { $0.denseScore.map(Double.init) }
        let lexical = stage(weights.lexical, fillingWithZero: true, \.lexicalScore)
        let quality = stage(weights.quality) { $0.qualityScore.map(Double.init) }
        var scored = candidates.map { c -> (candidate: FusionCandidate, score: Double, reranked: Bool) in
            let fused =
                dense.weight * (dense.scores[c.id] ?? dense.floor) + lexical.weight * (lexical.scores[c.id] ?? lexical.floor)
                + quality.weight * (quality.scores[c.id] ?? quality.floor)
            return (c, fused, c.qualityScore != nil)
        }
        scored.sort { a, b in
            if a.reranked != b.reranked { return a.reranked }
            return a.score != b.score ? a.score > b.score : a.candidate.id < b.candidate.id
        }
        return scored
    }

    /// The cross-encoder stage: the first `topN` entries of a fused order get `weight` × the
    /// z-score of their logit (over those `topN`) added to their score and are re-sorted among
    /// themselves (ties by id); the rest keep their places behind them. An entry without a logit
    /// gets the lowest z-score.
    public static func addCrossEncoder(
        _ ordered: inout [(candidate: FusionCandidate, score: Double, reranked: Bool)], logits: [String: Double], topN: Int, weight: Double
    ) {
        let n = min(topN, ordered.count)
        guard n > 0, !logits.isEmpty else { return }
        let z = normalized(logits, .zScore)
        let floor = z.values.min() ?? 0
        var head = Array(ordered[0..<n])
        for i in head.indices { head[i].score += weight * (z[head[i].candidate.id] ?? floor) }
        head.sort { $0.score != $1.score ? $0.score > $1.score : $0.candidate.id < $1.candidate.id }
        ordered.replaceSubrange(0..<n, with: head)
    }

    /// How far the best score stands above the list, in standard deviations: (max − μ) / σ; 0 for
    /// a list of fewer than two distinct scores (nothing to tell the hits apart by).
    public static func confidence(_ scores: [String: Double]) -> Double {
        guard scores.count >= 2, let high = scores.values.max() else { return 0 }
        let n = Double(scores.count)
        let mean = scores.values.reduce(0, +) / n
        let sigma = (scores.values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n).squareRoot()
        return sigma > 0 ? (high - mean) / sigma : 0
    }
}
