import Foundation

/// The architecture of an encoder, read from the model directory's `config.json`.
public struct TransformerConfig: Sendable, Equatable {
    /// `model_type`: `bert` or `mpnet`.
    public var modelType: String
    public var vocabSize: Int
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var intermediateSize: Int
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var layerNormEps: Float
    public var padTokenID: Int
    /// MPNet's relative attention buckets (ignored by BERT).
    public var relativeAttentionBuckets: Int

    public var headSize: Int { hiddenSize / headCount }

    /// Parses `config.json`; errors name the file and the missing or invalid key.
    public init(json data: Data, file: String = "config.json") throws {
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw EmbeddingError.invalidConfiguration(file: file, reason: "not a JSON object")
        }
        func int(_ key: String, default value: Int? = nil) throws -> Int {
            if let v = root[key] as? Int { return v }
            if let value { return value }
            throw EmbeddingError.invalidConfiguration(file: file, reason: "missing integer \(key)")
        }
        modelType = root["model_type"] as? String ?? "bert"
        guard ["bert", "mpnet"].contains(modelType) else {
            throw EmbeddingError.unsupportedArchitecture(modelType: modelType)
        }
        if let act = root["hidden_act"] as? String, act != "gelu" {
            throw EmbeddingError.invalidConfiguration(file: file, reason: "hidden_act \(act) is not supported (only gelu)")
        }
        if let kind = root["position_embedding_type"] as? String, kind != "absolute" {
            throw EmbeddingError.invalidConfiguration(
                file: file, reason: "position_embedding_type \(kind) is not supported (only absolute)")
        }
        vocabSize = try int("vocab_size")
        hiddenSize = try int("hidden_size")
        layerCount = try int("num_hidden_layers")
        headCount = try int("num_attention_heads")
        intermediateSize = try int("intermediate_size")
        maxPositionEmbeddings = try int("max_position_embeddings", default: 512)
        typeVocabSize = try int("type_vocab_size", default: modelType == "mpnet" ? 0 : 2)
        padTokenID = try int("pad_token_id", default: modelType == "mpnet" ? 1 : 0)
        relativeAttentionBuckets = try int("relative_attention_num_buckets", default: 32)
        layerNormEps = Float((root["layer_norm_eps"] as? Double) ?? 1e-12)
        for (key, value) in [
            ("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("num_hidden_layers", layerCount),
            ("num_attention_heads", headCount), ("intermediate_size", intermediateSize),
        ] where value <= 0 {
            throw EmbeddingError.invalidConfiguration(file: file, reason: "\(key) must be positive, is \(value)")
        }
        guard hiddenSize % headCount == 0 else {
            throw EmbeddingError.invalidConfiguration(
                file: file, reason: "hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(headCount)")
        }
    }
}
