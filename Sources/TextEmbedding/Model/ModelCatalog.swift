/// Models EpisodicMemory knows by name: their Hugging Face id, output dimension, pooling and the
/// prompt their authors prescribe for queries. A directory's own configuration files take
/// precedence; the catalog fills in what a directory cannot say (its dimension before it is
/// downloaded, the bge query instruction for directories that predate `prompts`).
public struct KnownModel: Sendable, Equatable {
    /// The Hugging Face repository id, e.g. `BAAI/bge-small-en-v1.5`.
    public var id: String
    public var dimension: Int
    public var pooling: PoolingStrategy
    public var queryPrompt: String
    /// Whether the setup script installs it offline.
    public var bundled: Bool
    /// The sha256 of its `model.safetensors`, when known.
    public var sha256: String? = nil

    /// The directory name under the models folder: the last component of the id.
    public var directoryName: String { String(id.split(separator: "/").last ?? Substring(id)) }
}

public enum ModelCatalog {
    static let bgeInstruction = "Represent this sentence for searching relevant passages: "

    public static let all: [KnownModel] = [
        KnownModel(
            id: "sentence-transformers/all-MiniLM-L6-v2", dimension: 384, pooling: .mean, queryPrompt: "", bundled: true,
            sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
        KnownModel(
            id: "sentence-transformers/all-mpnet-base-v2", dimension: 768, pooling: .mean, queryPrompt: "", bundled: true,
            sha256: "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"),
        KnownModel(id: "BAAI/bge-small-en-v1.5", dimension: 384, pooling: .cls, queryPrompt: bgeInstruction, bundled: false),
        KnownModel(id: "BAAI/bge-base-en-v1.5", dimension: 768, pooling: .cls, queryPrompt: bgeInstruction, bundled: false),
        KnownModel(id: "BAAI/bge-large-en-v1.5", dimension: 1024, pooling: .cls, queryPrompt: bgeInstruction, bundled: false),
    ]

    /// The default fast model available offline.
    public static let defaultFast = all[0]
    /// The default quality model (DESIGN.md); not available offline.
    public static let defaultQuality = all[4]
    /// The quality model available offline.
    public static let offlineQuality = all[1]

    /// The model known by `name`: a repository id (`BAAI/bge-large-en-v1.5`) or a directory name
    /// (`bge-large-en-v1.5`), case-insensitive.
    public static func model(named name: String) -> KnownModel? {
        let lowered = name.lowercased()
        return all.first { $0.id.lowercased() == lowered || $0.directoryName.lowercased() == lowered }
    }
}
