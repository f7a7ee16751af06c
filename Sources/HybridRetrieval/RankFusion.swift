import EpisodeStore
import Foundation
import VectorSearch

/// A candidate of a hybrid retrieval with its rank (1-based) and score in each stage's list.
public struct FusionCandidate: Sendable, Equatable {
    public var id: String
    public var denseRank: Int?
    public var denseScore: Float?
    public var lexicalRank: Int?
    public var lexicalScore: Double?
    public var qualityRank: Int?
    public var qualityScore: Float?
    /// The fused coarse score.
    public var coarseScore: Double = 0

    public init(id: String) { self.id = id }
}

/// How the stages' rankings are combined: pure functions of the rankings, testable without models.
public enum RankFusion {
    /// Reciprocal-rank fusion of the dense and lexical lists, Σ 1/(k + rank), best first (ties by id).
    public static func coarse(dense: [ScoredEpisode], lexical: [LexicalHit], k: Double) -> [FusionCandidate] {
        var byID: [String: FusionCandidate] = [:]
        for (rank, hit) in dense.enumerated() {
            byID[hit.episodeID, default: FusionCandidate(id: hit.episodeID)].denseRank = rank + 1
            byID[hit.episodeID]!.denseScore = hit.score
        }
        for (rank, hit) in lexical.enumerated() {
            byID[hit.episodeID, default: FusionCandidate(id: hit.episodeID)].lexicalRank = rank + 1
            byID[hit.episodeID]!.lexicalScore = hit.score
        }
        var candidates = Array(byID.values)
        for i in candidates.indices {
            candidates[i].coarseScore = reciprocal(candidates[i].denseRank, k) + reciprocal(candidates[i].lexicalRank, k)
        }
        candidates.sort { $0.coarseScore != $1.coarseScore ? $0.coarseScore > $1.coarseScore : $0.id < $1.id }
        return candidates
    }

    /// Sets each candidate's quality rank from the quality scores (best first, ties by id).
    public static func rankQuality(_ candidates: inout [FusionCandidate], scores: [String: Float]) {
        let ordered = scores.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        var rankOf: [String: Int] = [:]
        for (rank, entry) in ordered.enumerated() { rankOf[entry.key] = rank + 1 }
        for i in candidates.indices {
            candidates[i].qualityRank = rankOf[candidates[i].id]
            candidates[i].qualityScore = scores[candidates[i].id]
        }
    }

    /// The weights of the stages in the final fusion.
    public struct Weights: Sendable, Equatable, CustomStringConvertible {
        /// Reciprocal-rank fusion's: equal.
        public static let rrfDefault = Weights(dense: 1, lexical: 1, quality: 1)
        /// Score fusion's (z-scores): the quality model counts most, the fast model three
        /// quarters as much, BM25 half — chosen on the tune half of every evaluation set at once
        /// (the weights whose worst margin over the sets' best single stage was largest) and
        /// reported on the other half (README). The sets disagree on which stage is strongest —
        /// BM25 on real chats, the fast model on long assistant messages, the quality model on
        /// arXiv tags — so no stage may be left out: chosen without the long-message set, the
        /// weights dropped the fast model and lost 0.017 there. BM25's weight is half, not less,
        /// because its z-scores are the most decisive: a rare name that one turn holds stands
        /// many σ above the rest and still wins.
        public static let scoresDefault = Weights(dense: 0.75, lexical: 0.5, quality: 1)
        public var description: String { "dense \(dense), lexical \(lexical), quality \(quality)" }
        public var dense: Double = 1
        public var lexical: Double = 1
        public var quality: Double = 1
        public init(dense: Double = 1, lexical: Double = 1, quality: Double = 1) {
            self.dense = dense
            self.lexical = lexical
            self.quality = quality
        }
    }

    /// The final order: candidates with a quality rank by the weighted fusion of their dense,
    /// lexical and quality ranks; then every other candidate in coarse order. Returns each
    /// candidate with its final score and whether it was reranked.
    public static func final(_ candidates: [FusionCandidate], k: Double, weights: Weights)
        -> [(candidate: FusionCandidate, score: Double, reranked: Bool)]
    {
        var scored = candidates.map { c -> (candidate: FusionCandidate, score: Double, reranked: Bool) in
            guard let q = c.qualityRank else { return (c, c.coarseScore, false) }
            let fused =
                weights.dense * reciprocal(c.denseRank, k) + weights.lexical * reciprocal(c.lexicalRank, k)
                + weights.quality * reciprocal(q, k)
            return (c, fused, true)
        }
        scored.sort { a, b in
            if a.reranked != b.reranked { return a.reranked }
            return a.score != b.score ? a.score > b.score : a.candidate.id < b.candidate.id
        }
        return scored
    }

    /// A recency preference: each score multiplied by `1 − weight + weight · 2^(−age / halfLife)`
    /// (an episode one half-life old keeps `1 − weight/2` of its score; a new one all of it), then
    /// the order restored — reranked candidates still first. Returns each candidate's decay
    /// factor `2^(−age / halfLife)` in 0…1. Ages below zero (future dates) count as zero.
    public static func applyRecency(
        _ ordered: inout [(candidate: FusionCandidate, score: Double, reranked: Bool)], ages: [String: TimeInterval],
        halfLife: TimeInterval, weight: Double
    ) -> [String: Double] {
        var decays: [String: Double] = [:]
        for i in ordered.indices {
            let age = max(0, ages[ordered[i].candidate.id] ?? 0)
            let decay = pow(0.5, age / halfLife)
            decays[ordered[i].candidate.id] = decay
            ordered[i].score *= 1 - weight + weight * decay
        }
        ordered.sort { a, b in
            if a.reranked != b.reranked { return a.reranked }
            return a.score != b.score ? a.score > b.score : a.candidate.id < b.candidate.id
        }
        return decays
    }

    @inline(__always)
    static func reciprocal(_ rank: Int?, _ k: Double) -> Double { rank.map { 1 / (k + Double($0)) } ?? 0 }
}
