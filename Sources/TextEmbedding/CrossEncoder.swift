import Foundation

/// A BERT-family cross-encoder (sentence-transformers' `CrossEncoder`, e.g.
/// `cross-encoder/ms-marco-MiniLM-L-6-v2`): a `BertForSequenceClassification` with one logit that
/// reads a query and a passage together — `[CLS] query [SEP] passage [SEP]`, the passage's tokens
/// of type 1 — and scores how well the passage answers the query. Slower than comparing vectors
/// (one forward pass per pair), so it reranks only the top of a list.
///
/// ```swift
/// let reranker = try CrossEncoder(directory: URL(fileURLWithPath: "models/ms-marco-MiniLM-L-6-v2"))
/// let logits = try reranker.scores(query: "which seat?", passages: ["Seat 14A on TP1355", "Paid the bill"])
/// ```
public final class CrossEncoder: Sendable {
    public let directory: ModelDirectory
    public let tokenizer: WordPieceTokenizer
    public let options: EmbedderOptions
    let model: BertModel
    /// `bert.pooler.dense`: tanh(W · h_CLS + b).
    let pooler: Linear
    /// `classifier`: the one logit.
    let classifier: Linear
    let pool: WorkerPool

    /// The directory's name, e.g. `ms-marco-MiniLM-L-6-v2`.
    public var name: String { directory.url.lastPathComponent }

    /// Loads the cross-encoder in `url`: `config.json` (a BERT `…ForSequenceClassification` with one
    /// label), `tokenizer.json`, `model.safetensors`. Throws ``EmbeddingError`` otherwise.
    public convenience init(directory url: URL, options: EmbedderOptions = .init()) throws {
        try self.init(directory: try ModelDirectory(url: url), options: options)
    }

    public init(directory: ModelDirectory, options: EmbedderOptions = .init()) throws {
        self.directory = directory
        self.options = options
        pool = WorkerPool(extraThreads: max(1, options.threads) - 1)
        let config = directory.config
        guard config.modelType == "bert" else { throw EmbeddingError.unsupportedArchitecture(modelType: config.modelType) }
        let raw = (try? JSONSerialization.jsonObject(with: Data(contentsOf: directory.url.appendingPathComponent("config.json"))))
            as? [String: Any]
        let architectures = raw?["architectures"] as? [String] ?? []
        guard architectures.contains(where: { $0.hasSuffix("ForSequenceClassification") }) else {
            throw EmbeddingError.invalidConfiguration(
                file: "config.json",
                reason: "architectures \(architectures) is not a sequence classifier — a cross-encoder is a BertForSequenceClassification")
        }
        let labels = (raw?["id2label"] as? [String: Any])?.count ?? (raw?["num_labels"] as? Int) ?? 1
        guard labels == 1 else {
            throw EmbeddingError.invalidConfiguration(file: "config.json", reason: "\(labels) labels; a relevance cross-encoder has one")
        }
        tokenizer = try directory.loadTokenizer()
        let weights = try SafetensorsFile(url: directory.weightsURL)
        let plan = PrecisionPlan(options.precision)
        model = try BertModel.load(weights, config: config, plan: plan)
        let h = config.hiddenSize
        let prefix = weights.tensors["bert.pooler.dense.weight"] != nil ? "bert." : ""
        pooler = try .load(weights, prefix + "pooler.dense", in: h, out: h)
        classifier = try .load(weights, "classifier", in: h, out: 1)
    }

    /// The relevance logit of each passage for `query` (higher is more relevant), in order. Pairs
    /// longer than the model's maximum length are truncated (see
    /// ``WordPieceTokenizer/encodePair(_:_:maxLength:)``).
    public func scores(query: String, passages: [String]) throws -> [Float] {
        var results: [Float] = []
        results.reserveCapacity(passages.count)
        var start = 0
        var encodings: [Encoding] = []
        for (index, passage) in passages.enumerated() {
            if passage.utf8.count > options.maxTextBytes {
                throw EmbeddingError.textTooLong(index: index, bytes: passage.utf8.count, limit: options.maxTextBytes)
            }
            encodings.append(tokenizer.encodePair(query, passage, maxLength: directory.maxSequenceLength))
        }
        // Passes of at most maxTokensPerPass tokens, as for embeddings.
        while start < encodings.count {
            var end = start, tokens = 0
            while end < encodings.count && (end == start || tokens + encodings[end].ids.count <= options.maxTokensPerPass) {
                tokens += encodings[end].ids.count
                end += 1
            }
            results += forward(Array(encodings[start..<end]))
            start = end
        }
        return results
    }

    /// Logits of already encoded pairs.
    func forward(_ encodings: [Encoding]) -> [Float] {
        let packed = PackedTokens(WordPieceTokenizer.pad(encodings, padID: tokenizer.padID))
        let c = directory.config
        let ws = Workspace(tokens: packed.count, hiddenSize: c.hiddenSize, intermediateSize: c.intermediateSize)
        model.forward(packed, ws, pool: pool)
        let h = c.hiddenSize
        // The [CLS] row of every pair, then pooler (tanh) and classifier on all of them at once.
        var cls = [Float](repeating: 0, count: packed.sequences.count * h)
        for (row, range) in packed.sequences.enumerated() {
            for k in 0..<h { cls[row * h + k] = ws.hidden[range.lowerBound * h + k] }
        }
        var pooled = [Float](repeating: 0, count: cls.count)
        cls.withUnsafeBufferPointer { x in
            pooled.withUnsafeMutableBufferPointer { y in pooler.forward(x.baseAddress!, rows: packed.sequences.count, into: y.baseAddress!, pool: pool) }
        }
        for i in pooled.indices { pooled[i] = tanhf(pooled[i]) }
        var logits = [Float](repeating: 0, count: packed.sequences.count)
        pooled.withUnsafeBufferPointer { x in
            logits.withUnsafeMutableBufferPointer { y in classifier.forward(x.baseAddress!, rows: packed.sequences.count, into: y.baseAddress!, pool: pool) }
        }
        return logits
    }
}
