import ArgumentParser
import HybridRetrieval

/// `--quality sync|background|defer`: when an added episode's quality vector is computed.
/// Commands that exit when their work is done accept only `sync` and `defer`.
enum QualityOption: String, CaseIterable, ExpressibleByArgument {
    case sync, background
    case `defer`

    var mode: QualityEmbeddingMode {
        switch self {
        case .sync: .synchronous
        case .background: .background
        case .defer: .deferred
        }
    }

    /// Refuses `background` in a command that exits before background work would finish.
    func requireForeground() throws {
        if self == .background {
            throw ValidationError("--quality takes sync or defer here: the command exits before background work would finish")
        }
    }
}
