import EpisodeStore
import Foundation

/// Which stages ranked a result.
public enum RetrievalStage: String, Sendable, Codable, Equatable {
    /// Coarse candidate reranked with the quality vectors (and fused with the coarse evidence).
    case reranked
    /// The quality stage was unavailable (model missing, failed, over budget): coarse ranking.
    case coarseFallback = "coarse_fallback"
    /// Not reranked by choice: beyond `rerankTopK`, or reranking disabled, or the baseline.
    case coarseOnly = "coarse_only"
}

/// One retrieved episode with the score of each stage.
public struct RetrievedEpisode: Sendable, Equatable {
    public var episode: Episode
    /// Inner product of the fast vectors (nil when the episode came from another retriever only).
    public var denseScore: Float?
    /// BM25 (nil when the lexical retriever did not return it).
    public var lexicalScore: Double?
    /// The fused coarse score (reciprocal-rank fusion of dense and lexical ranks).
    public var coarseScore: Double
    /// Inner product of the quality vectors (nil when not reranked).
    public var rerankScore: Float?
    /// The cross-encoder's logit (nil when that stage did not score this result).
    public var crossEncoderScore: Float?
    /// The score the results are ordered by.
    public var finalScore: Double
    /// With a recency preference: `2^(−age / half-life)`, 1 for a new episode (nil without one).
    public var recencyScore: Double?
    public var stage: RetrievalStage
    /// The episode's rank (1 = best) in each stage's own list, nil where that stage did not rank it.
    public var ranks = StageRanks()

    public init(
        episode: Episode, denseScore: Float?, lexicalScore: Double?, coarseScore: Double, rerankScore: Float?,
        finalScore: Double, stage: RetrievalStage
    ) {
        self.episode = episode
        self.denseScore = denseScore
        self.lexicalScore = lexicalScore
        self.coarseScore = coarseScore
        self.rerankScore = rerankScore
        self.finalScore = finalScore
        self.stage = stage
    }
}

/// Where each stage ranked a result (1 = best).
public struct StageRanks: Sendable, Equatable {
    public var dense: Int?
    public var lexical: Int?
    public var quality: Int?

    public init(dense: Int? = nil, lexical: Int? = nil, quality: Int? = nil) {
        self.dense = dense
        self.lexical = lexical
        self.quality = quality
    }
}

/// Milliseconds spent in each stage of one retrieval.
public struct StageTimings: Sendable, Equatable {
    /// Query embeddings (both models, concurrently when both run).
    public var queryEmbeddingMs: Double = 0
    public var fastEmbeddingMs: Double = 0
    public var qualityEmbeddingMs: Double = 0
    /// Dense search, waiting for the lexical search, and fusion (the lexical search starts
    /// with the query embeddings and runs beside them, so it is mostly hidden).
    public var coarseMs: Double = 0
    public var denseMs: Double = 0
    /// The lexical search's own duration (concurrent with the query embeddings).
    public var lexicalMs: Double = 0
    /// Quality scoring of candidates (including any on-demand candidate embedding) and fusion.
    public var rerankMs: Double = 0
    /// The cross-encoder over the top of the fused order (0 when it did not run).
    public var crossEncoderMs: Double = 0
    public var totalMs: Double = 0

    public init() {}
}

/// The answer to one retrieval.
public struct RetrievalResponse: Sendable {
    /// Best first.
    public var results: [RetrievedEpisode]
    public var timings: StageTimings
    /// Why the quality stage did not run, when it did not.
    public var fallbackReason: FallbackReason?

    public init(results: [RetrievedEpisode], timings: StageTimings, fallbackReason: FallbackReason?) {
        self.results = results
        self.timings = timings
        self.fallbackReason = fallbackReason
    }
}

/// Parameters of ``HybridRetriever/retrieve(agentID:query:options:)``.
public struct RetrievalOptions: Sendable, Equatable {
    /// Candidates from each coarse retriever (dense, lexical).
    public var coarseTopK = 100
    /// Coarse candidates reranked with the quality vectors.
    public var rerankTopK = 50
    public var useReranking = true
    /// Fuse BM25 into the coarse candidates.
    public var lexical = true
    /// Results returned (nil: every candidate, best first).
    public var limit: Int? = nil
    /// Past this, the quality stage is abandoned and the coarse ranking returned (tagged
    /// `coarse_fallback`); nil for no limit.
    public var timeBudgetMs: Double? = 2000
    /// Agents with at most this many quality vectors also contribute their quality-vector top-K
    /// (an exact scan) to the candidates, so that the fast model's recall does not cap the result.
    public var qualityScanLimit = 50_000
    /// Embed the query with both models at once; off, one after the other, each model using
    /// all its threads. Default: on with four or more cores. Measured on two cores (10,000
    /// episodes, both models on two threads): total p50 26 ms one after the other, 29–30 ms at
    /// once — two CPU-bound passes on two cores only slow each other down.
    public var concurrentQueryEmbedding = ProcessInfo.processInfo.activeProcessorCount >= 4
    /// How the final order combines the stages: normalised scores (the default) or ranks.
    public var fusion = FusionMethod.scores
    /// How ``FusionMethod/scores`` normalises each stage's scores per query.
    public var normalization = ScoreNormalization.zScore
    /// Whether ``FusionMethod/scores`` scales each stage's weight per query by its confidence.
    public var weighting = FusionWeighting.fixed
    /// Reciprocal-rank fusion constant of ``FusionMethod/rrf`` and of the coarse candidates' order.
    public var fusionK: Double = 60
    /// Weights of the dense, lexical and quality stages in the final fusion; nil: the method's
    /// default (``RankFusion/Weights/scoresDefault`` or ``RankFusion/Weights/rrfDefault``).
    public var weights: RankFusion.Weights?
    /// The weights in effect.
    public var effectiveWeights: RankFusion.Weights {
        weights ?? (fusion == .scores ? .scoresDefault : .rrfDefault)
    }
    /// Only episodes passing this filter, in every stage (before each stage's top-k).
    public var filter: EpisodeFilter?
    /// Results of the fused order the cross-encoder rescores, when one is installed (0: never).
    public var crossEncoderTopN = 20
    /// The cross-encoder's weight: its z-scores over the top N are added, so weighted, to their
    /// fused scores. Not tuned: no cross-encoder can be evaluated offline here (README).
    public var crossEncoderWeight: Double = 1
    /// A preference for recent episodes (seconds; nil: none): see
    /// ``RankFusion/applyRecency(_:ages:halfLife:weight:)``.
    public var recencyHalfLife: TimeInterval?
    /// How much recency can take off a score (0…1): an old episode keeps `1 − weight` of it.
    public var recencyWeight: Double = 0.5

    public init(
        coarseTopK: Int = 100, rerankTopK: Int = 50, useReranking: Bool = true, lexical: Bool = true, limit: Int? = nil,
        timeBudgetMs: Double? = 2000
    ) {
        self.coarseTopK = coarseTopK
        self.rerankTopK = rerankTopK
        self.useReranking = useReranking
        self.lexical = lexical
        self.limit = limit
        self.timeBudgetMs = timeBudgetMs
    }

    public func validate() throws {
        guard coarseTopK > 0, coarseTopK <= 10_000 else {
            throw RetrievalError.invalidParameter("coarse_top_k must be in 1…10000, got \(coarseTopK)")
        }
        guard rerankTopK >= 0, rerankTopK <= coarseTopK else {
            throw RetrievalError.invalidParameter("rerank_top_k must be in 0…coarse_top_k (\(coarseTopK)), got \(rerankTopK)")
        }
        if let limit, limit <= 0 { throw RetrievalError.invalidParameter("limit must be positive, got \(limit)") }
        guard crossEncoderTopN >= 0 && crossEncoderTopN <= 1000 else {
            throw RetrievalError.invalidParameter("cross_encoder_top_n must be in 0…1000, got \(crossEncoderTopN)")
        }
        guard crossEncoderWeight >= 0 && crossEncoderWeight.isFinite else {
            throw RetrievalError.invalidParameter("cross_encoder_weight must be finite and non-negative, got \(crossEncoderWeight)")
        }
        if let halfLife = recencyHalfLife, !(halfLife > 0 && halfLife.isFinite) {
            throw RetrievalError.invalidParameter("recency_half_life must be a positive duration, got \(halfLife) s")
        }
        guard recencyWeight >= 0 && recencyWeight <= 1 else {
            throw RetrievalError.invalidParameter("recency_weight must be in 0…1, got \(recencyWeight)")
        }
        if let w = weights {
            guard [w.dense, w.lexical, w.quality].allSatisfy({ $0 >= 0 && $0.isFinite }), w.dense + w.lexical + w.quality > 0 else {
                throw RetrievalError.invalidParameter("fusion weights must be finite, non-negative and not all 0, got \(w)")
            }
        }
        try filter?.validate()
    }
}
