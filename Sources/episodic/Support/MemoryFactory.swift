import EpisodeStore
import Foundation
import HybridRetrieval
import TextEmbedding
import VectorSearch

/// Builds the retrieval stack over a store for the commands that need models.
enum MemoryFactory {
    static func service(_ store: SQLiteEpisodeStore, threads: Int = 1, qualityMode: QualityEmbeddingMode = .synchronous,
                        cacheCapacity: Int = 1000) throws -> EmbeddingService {
        try EmbeddingService(store: store, configuration: .init(
            modelsRoot: ModelLocation.root, cacheCapacity: cacheCapacity, qualityMode: qualityMode, threads: threads))
    }

    /// The columns of a new store for two installed (or catalog) models.
    static func columns(fast: KnownModel, quality: KnownModel) throws -> [VectorColumn] {
        func column(_ name: String, _ role: VectorRole, _ model: KnownModel) throws -> VectorColumn {
            let directory = ModelLocation.root.appendingPathComponent(model.directoryName)
            let sha = (try? ModelDirectory(url: directory)) != nil ? try ModelFingerprint.sha256(ofModelIn: directory) : ""
            return VectorColumn(name: name, role: role, dimension: model.dimension, modelID: model.id, modelSHA256: sha)
        }
        return [try column(VectorColumn.defaultFastName, .fast, fast), try column(VectorColumn.defaultQualityName, .quality, quality)]
    }
}
