/// Why a hybrid retrieval returned the coarse ranking instead of the reranked one.
public enum FallbackReason: Sendable, Equatable, CustomStringConvertible {
    /// The store has no quality column.
    case noQualityColumn
    /// The quality model cannot be used (missing, corrupt, other weights); says what to fix.
    case modelUnavailable(String)
    /// The time budget ran out during `stage` (`query_embedding` or `rerank`).
    case timeBudgetExceeded(stage: String, budgetMs: Double)
    /// Scoring the candidates failed.
    case rerankFailed(String)

    /// A stable, machine-readable code.
    public var code: String {
        switch self {
        case .noQualityColumn: "no_quality_column"
        case .modelUnavailable: "model_unavailable"
        case .timeBudgetExceeded: "time_budget_exceeded"
        case .rerankFailed: "rerank_failed"
        }
    }

    public var description: String {
        switch self {
        case .noQualityColumn: return "the store has no quality column"
        case .modelUnavailable(let reason): return reason
        case .timeBudgetExceeded(let stage, let budget):
            let what = stage == "rerank" ? "reranking" : "embedding the query with the quality model"
            return "time budget of \(Int(budget)) ms exceeded while \(what)"
        case .rerankFailed(let reason): return "reranking failed: \(reason)"
        }
    }
}
