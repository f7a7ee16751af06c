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
        [try ColumnFactory.column(name: VectorColumn.defaultFastName, role: .fast, model: fast.id, modelsRoot: ModelLocation.root),
         try ColumnFactory.column(name: VectorColumn.defaultQualityName, role: .quality, model: quality.id, modelsRoot: ModelLocation.root)]
    }
}
