import EpisodeStore

/// What the retrieval layer refuses.
public enum RetrievalError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The model of a column cannot be used (missing, corrupt, different weights); the message says why.
    case modelUnavailable(column: String, reason: String)
    /// The store has no column with this role.
    case noColumn(role: String)
    /// The query is empty or only whitespace.
    case emptyQuery
    /// A parameter out of range (top-k, etc.).
    case invalidParameter(String)

    public var description: String {
        switch self {
        case .modelUnavailable(let column, let reason): return "the model of column \(column) is unavailable: \(reason)"
        case .noColumn(let role): return "the store has no \(role) vector column"
        case .emptyQuery: return "the query is empty"
        case .invalidParameter(let message): return message
        }
    }
}
