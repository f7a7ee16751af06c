import ArgumentParser
import CommandSupport
import EpisodicMemory
import Foundation

/// `episodic init`: creates a store with its two vector columns.
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create an episode store with a fast and a quality vector column.",
        discussion: """
            A column's dimension and model are fixed here and recorded in the store (with the sha256 \
            of the model's weights when the model is installed), so that vectors of different models \
            are never mixed; `episodic reembed` changes a column's model later. Dimensions default to \
            the model's.

            Examples:
              episodic --db memory.sqlite init
              episodic --db memory.sqlite init --quality-model all-mpnet-base-v2    # offline quality model, 768
              episodic --db memory.sqlite init --fast-dim 384 --quality-dim 1024 --no-model-check
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: "Fast model: a catalog name (all-MiniLM-L6-v2, bge-small-en-v1.5) or a Hugging Face id.")
    var fastModel = ModelCatalog.defaultFast.id

    @Option(help: "Quality model: a catalog name (bge-large-en-v1.5, all-mpnet-base-v2) or a Hugging Face id.")
    var qualityModel = ModelCatalog.defaultQuality.id

    @Option(help: "Fast column dimension (default: the fast model's, 384).")
    var fastDim: Int?

    @Option(help: "Quality column dimension (default: the quality model's, 1024 for bge-large-en-v1.5).")
    var qualityDim: Int?

    @Option(help: "Name of the fast column.")
    var fastColumn = VectorColumn.defaultFastName

    @Option(help: "Name of the quality column.")
    var qualityColumn = VectorColumn.defaultQualityName

    @Flag(help: "Do not read the models (record their ids without a weights hash).")
    var noModelCheck = false

    func run() async throws {
        try await reportingFailures {
            guard try await !StoreLocation(store.location).exists() else {
                throw Failure(
                    message: "\(store.location) already exists; init creates a new store (use `stats` to inspect it)",
                    status: ExitStatus.dataError)
            }
            let fast = try column(name: fastColumn, role: .fast, model: fastModel, dimension: fastDim)
            let quality = try column(name: qualityColumn, role: .quality, model: qualityModel, dimension: qualityDim)
            guard fast.name != quality.name else {
                throw Failure(message: "the fast and quality columns need different names", status: ExitStatus.dataError)
            }
            let memory = try await EpisodicMemory.create(store.location, columns: [fast, quality])
            print("created \(memory.location) (schema \(try await memory.schemaVersion()))")
            for c in memory.columns {
                let hash = c.modelSHA256.isEmpty ? "weights not installed" : "sha256 \(c.modelSHA256.prefix(12))…"
                print("  \(c.name): \(c.role.rawValue), \(c.dimension) dimensions, \(c.modelID) (\(hash))")
            }
            await memory.close()
        }
    }

    /// A column for `model`: dimension from the installed model, else the catalog, else the flag.
    func column(name: String, role: VectorRole, model: String, dimension: Int?) throws -> VectorColumn {
        do {
            return try ColumnFactory.column(name: name, role: role, model: model, dimension: dimension, readWeights: !noModelCheck)
        } catch RetrievalError.invalidParameter(let message) {
            throw Failure(message: message + " (--\(role == .fast ? "fast" : "quality")-dim)", status: ExitStatus.dataError)
        }
    }
}
