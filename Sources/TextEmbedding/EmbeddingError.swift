/// Everything that can go wrong while loading a model directory or embedding text.
///
/// Each case's description says what is wrong and how to fix it; the associated values name the
/// file or tensor involved so that the message is actionable without a debugger.
public enum EmbeddingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The model directory does not exist or is not a directory.
    case modelDirectoryNotFound(path: String)
    /// A file the model needs is missing from its directory.
    case missingFile(name: String, directory: String)
    /// A configuration file exists but cannot be read as the JSON the loader expects.
    case invalidConfiguration(file: String, reason: String)
    /// The model family in `config.json` is not one this engine implements.
    case unsupportedArchitecture(modelType: String)
    /// The safetensors file is shorter than its header says, or its header is not valid.
    case corruptWeights(file: String, reason: String)
    /// A tensor the architecture needs is absent from the weights file.
    case missingTensor(name: String, file: String)
    /// A tensor is stored in a data type the engine cannot convert to float32.
    case unsupportedDType(tensor: String, dtype: String)
    /// A tensor's shape disagrees with what `config.json` implies.
    case shapeMismatch(tensor: String, expected: [Int], actual: [Int])
    /// `tokenizer.json` uses a component this tokenizer does not implement.
    case unsupportedTokenizer(component: String)
    /// A text is longer than the configured limit (in UTF-8 bytes).
    case textTooLong(index: Int, bytes: Int, limit: Int)

    public var description: String {
        switch self {
        case .modelDirectoryNotFound(let path):
            return
                "model directory not found: \(path) — run scripts/setup.sh to install the bundled models, or pass the path of a sentence-transformers model directory"
        case .missingFile(let name, let directory):
            return
                "model directory \(directory) has no \(name) — it is not a complete sentence-transformers directory; reinstall it (scripts/setup.sh or `episodic models fetch`)"
        case .invalidConfiguration(let file, let reason):
            return "cannot read \(file): \(reason) — the file is damaged or not a Hugging Face configuration; reinstall the model"
        case .unsupportedArchitecture(let modelType):
            return "model_type \"\(modelType)\" is not supported — supported families: bert, mpnet"
        case .corruptWeights(let file, let reason):
            return "weights file \(file) is corrupt: \(reason) — the download was truncated or damaged; reinstall the model"
        case .missingTensor(let name, let file):
            return "tensor \(name) is missing from \(file) — the weights do not belong to the architecture in config.json"
        case .unsupportedDType(let tensor, let dtype):
            return "tensor \(tensor) has dtype \(dtype); only F32, F16 and BF16 weights are supported"
        case .shapeMismatch(let tensor, let expected, let actual):
            return
                "tensor \(tensor) has shape \(actual) but config.json implies \(expected) — config.json and model.safetensors do not match"
        case .unsupportedTokenizer(let component):
            return
                "tokenizer.json uses \(component), which this tokenizer does not implement (supported: BertNormalizer, BertPreTokenizer, WordPiece, TemplateProcessing/BertProcessing/RobertaProcessing)"
        case .textTooLong(let index, let bytes, let limit):
            return "text #\(index) has \(bytes) UTF-8 bytes, over the limit of \(limit) — split it or raise the limit"
        }
    }
}
