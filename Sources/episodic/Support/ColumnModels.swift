import EpisodeStore
import Foundation
import TextEmbedding
import VectorSearch

/// Finds and loads the model whose vectors a column holds, refusing a model whose weights differ
/// from the ones recorded for the column (vectors of two models are not comparable).
enum ColumnModels {
    /// The model directory for a column's model id: `$EPISODIC_MODELS/<last component of the id>`.
    static func directory(for column: VectorColumn) -> URL {
        ModelLocation.root.appendingPathComponent(String(column.modelID.split(separator: "/").last ?? Substring(column.modelID)))
    }

    /// Loads the column's model after checking its sha256 against the registry.
    static func embedder(for column: VectorColumn, threads: Int = 1) throws -> SentenceEmbedder {
        let directory = directory(for: column)
        let model = try ModelDirectory(url: directory)
        guard model.dimension == column.dimension else {
            throw Failure(message: "model \(directory.path) gives \(model.dimension)-dimensional vectors but column \(column.name) holds \(column.dimension)",
                          status: ExitStatus.unavailable)
        }
        if !column.modelSHA256.isEmpty {
            let sha = try ModelFingerprint.sha256(ofModelIn: directory)
            guard sha == column.modelSHA256 else {
                throw StoreError.modelMismatch(column: column.name, recordedModel: column.modelID, recordedSHA256: column.modelSHA256,
                                               offeredModel: directory.path, offeredSHA256: sha)
            }
        }
        return try SentenceEmbedder(directory: model, options: .init(threads: threads))
    }
}
