import ArgumentParser
import EpisodicMemory

/// `--quality sync|background|defer`: when an added episode's quality vector is computed.
/// Commands that exit when their work is done accept only `sync` and `defer`.
public enum QualityOption: String, CaseIterable, ExpressibleByArgument {
    case sync, background
    case `defer`

    public var mode: QualityEmbeddingMode {
        switch self {
        case .sync: .synchronous
        case .background: .background
        case .defer: .deferred
        }
    }

    /// Refuses `background` in a command that exits before background work would finish.
    public func requireForeground() throws {
        if self == .background {
            throw ValidationError("--quality takes sync or defer here: the command exits before background work would finish")
        }
    }
}

/// `--precision fp32|int8|auto`: the arithmetic of the models' linear layers.
extension EmbeddingPrecision: ExpressibleByArgument {}
