import Foundation

/// A sentence-transformers model directory as published on the Hugging Face hub: `config.json`,
/// `tokenizer.json`, `model.safetensors`, and the sentence-transformers files that say how to pool
/// (`modules.json`, `1_Pooling/config.json`), how long inputs may be (`sentence_bert_config.json`)
/// and which prompts to prepend (`config_sentence_transformers.json`).
public struct ModelDirectory: Sendable {
    public let url: URL
    public let config: TransformerConfig
    public let pooling: PoolingStrategy
    /// Whether prompt tokens take part in pooling (sentence-transformers' `include_prompt`).
    public let poolingIncludesPrompt: Bool
    /// Whether `modules.json` ends in a `Normalize` module (unit-length vectors).
    public let normalize: Bool
    /// Tokens per text, special tokens included; longer texts are truncated on the right.
    public let maxSequenceLength: Int
    /// sentence-transformers' `do_lower_case`: lowercase the text before tokenizing.
    public let lowercasesInput: Bool
    /// Text prepended to queries (bge's "Represent this sentence for searching relevant passages: ").
    public let queryPrompt: String
    /// Text prepended to passages (usually empty).
    public let passagePrompt: String
    /// The padding token's name from `special_tokens_map.json`, if any.
    public let padToken: String?

    public var tokenizerURL: URL { url.appendingPathComponent("tokenizer.json") }
    public var weightsURL: URL { url.appendingPathComponent("model.safetensors") }
    /// The output dimension.
    public var dimension: Int { config.hiddenSize }

    /// Reads the directory's configuration files. Missing required files are typed errors; the
    /// optional sentence-transformers files fall back to the library's defaults.
    public init(url: URL) throws {
        self.url = url
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw EmbeddingError.modelDirectoryNotFound(path: url.path)
        }
        func required(_ name: String) throws -> Data {
            let file = url.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: file.path) else {
                throw EmbeddingError.missingFile(name: name, directory: url.path)
            }
            return data
        }
        func optionalJSON(_ name: String) throws -> Any? {
            guard let data = FileManager.default.contents(atPath: url.appendingPathComponent(name).path) else { return nil }
            do { return try JSONSerialization.jsonObject(with: data) } catch {
                throw EmbeddingError.invalidConfiguration(file: name, reason: "not valid JSON")
            }
        }
        config = try TransformerConfig(json: try required("config.json"))
        for name in ["tokenizer.json", "model.safetensors"]
        where !FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path) {
            throw EmbeddingError.missingFile(name: name, directory: url.path)
        }

        // modules.json: where the pooling config lives, and whether vectors are normalized.
        var poolingPath = "1_Pooling"
        var normalize = false
        if let modules = try optionalJSON("modules.json") {
            guard let list = modules as? [[String: Any]] else {
                throw EmbeddingError.invalidConfiguration(file: "modules.json", reason: "not a list of modules")
            }
            for module in list {
                let type = module["type"] as? String ?? ""
                if type.hasSuffix(".Pooling"), let path = module["path"] as? String { poolingPath = path }
                if type.hasSuffix(".Normalize") { normalize = true }
            }
        }
        self.normalize = normalize

        var pooling = PoolingStrategy.mean
        var includePrompt = true
        if let poolingConfig = try optionalJSON(poolingPath + "/config.json") as? [String: Any] {
            if poolingConfig["pooling_mode_cls_token"] as? Bool == true {
                pooling = .cls
            } else if poolingConfig["pooling_mode_max_tokens"] as? Bool == true {
                pooling = .max
            } else if poolingConfig["pooling_mode_mean_sqrt_len_tokens"] as? Bool == true {
                pooling = .meanSqrtLength
            }
            if let dim = poolingConfig["word_embedding_dimension"] as? Int, dim != config.hiddenSize {
                throw EmbeddingError.invalidConfiguration(
                    file: poolingPath + "/config.json",
                    reason: "word_embedding_dimension \(dim) ≠ hidden_size \(config.hiddenSize)")
            }
            includePrompt = poolingConfig["include_prompt"] as? Bool ?? true
        }
        self.pooling = pooling
        self.poolingIncludesPrompt = includePrompt

        // Positions available to tokens: MPNet (RoBERTa-style) reserves the first padding_idx + 1.
        let positionLimit = config.maxPositionEmbeddings - (config.modelType == "mpnet" ? config.padTokenID + 1 : 0)
        let bert = try optionalJSON("sentence_bert_config.json") as? [String: Any]
        let tokenizerConfig = try optionalJSON("tokenizer_config.json") as? [String: Any]
        var maxLength =
            bert?["max_seq_length"] as? Int
            ?? min(tokenizerConfig?["model_max_length"] as? Int ?? positionLimit, positionLimit)
        if maxLength > positionLimit { maxLength = positionLimit }
        guard maxLength >= 2 else {
            throw EmbeddingError.invalidConfiguration(file: "sentence_bert_config.json", reason: "max_seq_length \(maxLength) is too small")
        }
        maxSequenceLength = maxLength
        lowercasesInput = bert?["do_lower_case"] as? Bool ?? false

        let st = try optionalJSON("config_sentence_transformers.json") as? [String: Any]
        let prompts = st?["prompts"] as? [String: String] ?? [:]
        queryPrompt = prompts["query"] ?? ""
        passagePrompt = prompts["document"] ?? prompts["passage"] ?? ""

        let specials = try optionalJSON("special_tokens_map.json") as? [String: Any]
        if let pad = specials?["pad_token"] as? String {
            padToken = pad
        } else if let pad = (specials?["pad_token"] as? [String: Any])?["content"] as? String {
            padToken = pad
        } else {
            padToken = nil
        }
    }
}
