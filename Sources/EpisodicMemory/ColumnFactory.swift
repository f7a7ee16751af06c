import Foundation
import HybridRetrieval
import TextEmbedding
import VectorSearch

/// Builds the vector column of a new store for a model: its dimension from the installed model
/// directory (with the sha256 of its weights, so that other weights are refused later), else
/// from the model catalog (recorded without a hash), else as given.
public enum ColumnFactory {
    /// - Parameters:
    ///   - model: a catalog name (`all-mpnet-base-v2`), a Hugging Face id, or a directory name.
    ///   - directory: where the model is, when not `<modelsFolder>/<name>`.
    ///   - dimension: required when the model is neither installed nor in the catalog; otherwise
    ///     must agree with the model.
    ///   - readWeights: false records the model id only (no hash, directory not read).
    public static func column(
        name: String, role: VectorRole, model: String, modelsFolder: URL = ModelsFolder.default,
        directory: URL? = nil, dimension: Int? = nil, readWeights: Bool = true
    ) throws -> VectorColumn {
        let known = ModelCatalog.model(named: model)
        let id = known?.id ?? model
        let location = directory ?? ModelsFolder.directory(of: model, in: modelsFolder)
        var sha = ""
        var modelDimension = known?.dimension
        if readWeights, let installed = try? ModelDirectory(url: location) {
            modelDimension = installed.dimension
            sha = try ModelFingerprint.sha256(ofModelIn: location)
        }
        guard let resolved = dimension ?? modelDimension else {
            throw RetrievalError.invalidParameter(
                "model \(model) is neither installed in \(modelsFolder.path) nor in the catalog: give the \(role.rawValue) column's dimension"
            )
        }
        if let modelDimension, resolved != modelDimension {
            throw RetrievalError.invalidParameter("\(id) gives \(modelDimension)-dimensional vectors, not \(resolved)")
        }
        guard (1...65536).contains(resolved) else {
            throw RetrievalError.invalidParameter("dimension \(resolved) is out of range (1…65536)")
        }
        return VectorColumn(name: name, role: role, dimension: resolved, modelID: id, modelSHA256: sha)
    }
}
