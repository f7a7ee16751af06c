import EpisodeStore
import Foundation
import Logging
import Synchronization
import TextEmbedding
import VectorSearch

/// The model of one vector column, loaded on first use (or on request) and checked against the
/// column: same dimension, and — when the store recorded one — the same sha256 of the weights,
/// so that vectors of two models are never mixed. A failed load is remembered and reported with
/// its reason; ``reset()`` allows another attempt.
public final class ColumnModel: Sendable {
    public let column: VectorColumn
    /// Where the model directory is looked for.
    public let directory: URL
    private let threads: Int
    /// The arithmetic of the model's linear layers (the vectors it gives are comparable in every one).
    public let precision: EmbeddingPrecision
    private let state = Mutex<State>(.notLoaded)
    private let logger = Logger(label: "episodic.models")

    enum State {
        case notLoaded
        case loaded(SentenceEmbedder)
        case failed(String)
    }

    public init(column: VectorColumn, directory: URL, threads: Int = 1, precision: EmbeddingPrecision = .fp32) {
        self.column = column
        self.directory = directory
        self.threads = threads
        self.precision = precision
    }

    /// The directory of a column's model in the models folder.
    public static func directory(for column: VectorColumn, in folder: URL) -> URL {
        ModelsFolder.directory(of: column.modelID, in: folder)
    }

    /// Whether the model is in memory (does not load it).
    public var isLoaded: Bool { state.withLock { if case .loaded = $0 { return true } else { return false } } }

    /// The loaded model, loading it now if needed. Throws ``RetrievalError/modelUnavailable``.
    public func embedder() throws -> SentenceEmbedder {
        try state.withLock { state in
            switch state {
            case .loaded(let model): return model
            case .failed(let reason): throw RetrievalError.modelUnavailable(column: column.name, reason: reason)
            case .notLoaded:
                do {
                    let model = try load()
                    state = .loaded(model)
                    logger.info("loaded model for column \(column.name)", metadata: ["directory": "\(directory.path)"])
                    return model
                } catch {
                    let reason = "\(error)"
                    state = .failed(reason)
                    logger.warning("model for column \(column.name) unavailable: \(reason)")
                    throw RetrievalError.modelUnavailable(column: column.name, reason: reason)
                }
            }
        }
    }

    /// Forgets a failed (or successful) load, so that the next use tries again.
    public func reset() { state.withLock { $0 = .notLoaded } }

    private func load() throws -> SentenceEmbedder {
        let model = try ModelDirectory(url: directory)
        guard model.dimension == column.dimension else {
            throw RetrievalError.modelUnavailable(
                column: column.name,
                reason: "\(directory.path) gives \(model.dimension)-dimensional vectors, the column holds \(column.dimension)")
        }
        if !column.modelSHA256.isEmpty {
            let sha = try ModelFingerprint.sha256(ofModelIn: directory)
            guard sha == column.modelSHA256 else {
                throw StoreError.modelMismatch(
                    column: column.name, recordedModel: column.modelID, recordedSHA256: column.modelSHA256,
                    offeredModel: directory.path, offeredSHA256: sha)
            }
        }
        return try SentenceEmbedder(directory: model, options: .init(threads: threads, precision: precision))
    }
}
