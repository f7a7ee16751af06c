import Foundation
import Logging
import Synchronization
import TextEmbedding

/// The optional cross-encoder stage's model, loaded on first use from its directory. Absent
/// directory: the stage is off (``isInstalled`` false), never an error; a directory that fails to
/// load is reported once and the stage stays off.
public final class CrossEncoderModel: Sendable {
    /// Where the model is looked for.
    public let directory: URL
    private let options: EmbedderOptions
    private let state = Mutex<State>(.notLoaded)
    private let logger = Logger(label: "episodic.models")

    enum State {
        case notLoaded
        case loaded(CrossEncoder)
        case failed(String)
    }

    /// The folder name `episodic models fetch cross-encoder/ms-marco-MiniLM-L-6-v2` installs.
    public static let defaultName = "ms-marco-MiniLM-L-6-v2"

    public init(directory: URL, threads: Int = 1, precision: EmbeddingPrecision = .fp32) {
        self.directory = directory
        options = EmbedderOptions(threads: threads, precision: precision)
    }

    /// Whether a model directory is there (nothing is loaded).
    public var isInstalled: Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent("config.json").path)
    }

    /// The loaded model, loading it now if needed; nil when it is not installed or failed to load.
    public func model() -> CrossEncoder? {
        state.withLock { state in
            switch state {
            case .loaded(let model): return model
            case .failed: return nil
            case .notLoaded:
                guard isInstalled else { return nil }
                do {
                    let model = try CrossEncoder(directory: directory, options: options)
                    state = .loaded(model)
                    logger.info("loaded cross-encoder", metadata: ["directory": "\(directory.path)"])
                    return model
                } catch {
                    state = .failed("\(error)")
                    logger.warning("cross-encoder \(directory.path) unavailable, reranking without it: \(error)")
                    return nil
                }
            }
        }
    }
}
