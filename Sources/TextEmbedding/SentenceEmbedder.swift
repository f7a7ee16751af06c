import Foundation

/// What a text is embedded as: models such as bge prepend an instruction to queries only.
public enum EmbeddingPurpose: String, Sendable, CaseIterable {
    case passage
    case query
}

/// Tunables of a ``SentenceEmbedder``.
public struct EmbedderOptions: Sendable {
    /// Threads of the forward pass (matrix products and attention); the calling thread is one of them.
    public var threads: Int = 1
    /// Most tokens run through the network at once; longer input lists are split, bounding memory.
    public var maxTokensPerPass: Int = 4096
    /// Texts longer than this many UTF-8 bytes are refused with ``EmbeddingError/textTooLong``
    /// (tokenization is linear in the text; only the first `max_seq_length` tokens are embedded).
    public var maxTextBytes: Int = 4 << 20
    /// The arithmetic of the linear layers; see ``EmbeddingPrecision``.
    public var precision: EmbeddingPrecision = .fp32
    public init(threads: Int = 1, maxTokensPerPass: Int = 4096, maxTextBytes: Int = 4 << 20, precision: EmbeddingPrecision = .fp32) {
        self.threads = threads
        self.maxTokensPerPass = maxTokensPerPass
        self.maxTextBytes = maxTextBytes
        self.precision = precision
    }
}

/// A sentence-embedding model loaded from a sentence-transformers directory: text in, vector out,
/// reproducing sentence-transformers' `encode` (tokenization, encoder, pooling, normalization,
/// prompts).
///
/// Load once and share: the weights are immutable and every call allocates its own scratch
/// memory, so `embed` is safe to call from concurrent tasks.
///
/// ```swift
/// let model = try SentenceEmbedder(directory: URL(fileURLWithPath: "models/all-MiniLM-L6-v2"))
/// let vectors = try model.embed(["The cat sat on the mat."])   // [[Float]], 384 each
/// let query = try model.embed(["where did the cat sit?"], as: .query)
/// ```
public final class SentenceEmbedder: Sendable {
    public let directory: ModelDirectory
    public let tokenizer: WordPieceTokenizer
    public let options: EmbedderOptions
    let encoder: Encoder
    /// Threads beyond the caller's for this model's parallel sections.
    let pool: WorkerPool
    /// The precision the linear layers run in (``EmbeddingPrecision/auto`` resolved for this CPU).
    public let precision: EmbeddingPrecision

    enum Encoder: Sendable {
        case bert(BertModel)
        case mpnet(MPNetModel)
    }

    /// The length of every vector this model returns.
    public var dimension: Int { directory.dimension }
    /// The directory's name, e.g. `all-MiniLM-L6-v2`.
    public var name: String { directory.url.lastPathComponent }

    /// Loads the model in `url`. Throws ``EmbeddingError`` when a file is missing, a configuration
    /// is invalid, or the weights are corrupt or do not match the configuration.
    public convenience init(directory url: URL, options: EmbedderOptions = .init()) throws {
        try self.init(directory: try ModelDirectory(url: url), options: options)
    }

    public init(directory: ModelDirectory, options: EmbedderOptions = .init()) throws {
        self.directory = directory
        self.options = options
        pool = WorkerPool(extraThreads: max(1, options.threads) - 1)
        tokenizer = try directory.loadTokenizer()
        let weights = try SafetensorsFile(url: directory.weightsURL)
        precision = options.precision.resolved
        let plan = PrecisionPlan(precision)
        switch directory.config.modelType {
        case "mpnet": encoder = .mpnet(try MPNetModel.load(weights, config: directory.config, plan: plan))
        default: encoder = .bert(try BertModel.load(weights, config: directory.config, plan: plan))
        }
    }

    /// The prompt prepended to texts embedded for `purpose`.
    public func prompt(for purpose: EmbeddingPurpose) -> String {
        purpose == .query ? directory.queryPrompt : directory.passagePrompt
    }

    /// Tokenizes `texts` as ``embed(_:as:)`` does (prompt, lowercasing, truncation).
    public func encode(_ texts: [String], as purpose: EmbeddingPurpose = .passage) throws -> [Encoding] {
        let prompt = prompt(for: purpose)
        return try texts.enumerated().map { index, text in
            let bytes = text.utf8.count
            if bytes > options.maxTextBytes {
                throw EmbeddingError.textTooLong(index: index, bytes: bytes, limit: options.maxTextBytes)
            }
            var input = prompt.isEmpty ? text : prompt + text
            if directory.lowercasesInput { input = input.lowercased() }
            return tokenizer.encode(input, maxLength: directory.maxSequenceLength)
        }
    }

    /// Embeds `texts`, one vector of ``dimension`` floats each, in order.
    public func embed(_ texts: [String], as purpose: EmbeddingPurpose = .passage) throws -> [[Float]] {
        embed(encodings: try encode(texts, as: purpose), promptLength: promptLength(for: purpose))
    }

    /// Leading tokens of a text embedded as `purpose` that pooling leaves out (the prompt's, for
    /// models whose pooling excludes it; else 0): what ``embed(encodings:promptLength:)`` needs
    /// for encodings made by ``encode(_:as:)``.
    public func promptLength(for purpose: EmbeddingPurpose) -> Int {
        directory.poolingIncludesPrompt || prompt(for: purpose).isEmpty
            ? 0 : max(0, tokenizer.encode(prompt(for: purpose)).ids.count - tokenizer.postProcessor.suffix.count)
    }

    /// Embeds one text.
    public func embed(_ text: String, as purpose: EmbeddingPurpose = .passage) throws -> [Float] {
        try embed([text], as: purpose)[0]
    }

    /// Runs the network on already tokenized texts, in passes of at most
    /// ``EmbedderOptions/maxTokensPerPass`` tokens. `promptLength` leading tokens of each text
    /// are left out of pooling (sentence-transformers' `include_prompt: false`).
    public func embed(encodings: [Encoding], promptLength: Int = 0) -> [[Float]] {
        var results = [[Float]](repeating: [], count: encodings.count)
        var start = 0
        while start < encodings.count {
            var end = start
            var tokens = 0
            while end < encodings.count && (end == start || tokens + encodings[end].ids.count <= options.maxTokensPerPass) {
                tokens += encodings[end].ids.count
                end += 1
            }
            let batch = WordPieceTokenizer.pad(Array(encodings[start..<end]), padID: tokenizer.padID)
            let vectors = forward(batch, promptLength: promptLength)
            for (offset, vector) in vectors.enumerated() { results[start + offset] = vector }
            start = end
        }
        return results
    }

    /// Pooled (and, when the model says so, normalized) vectors of a padded batch; padding is
    /// masked by `attentionMask`.
    public func forward(_ batch: TokenBatch, promptLength: Int = 0) -> [[Float]] {
        let packed = PackedTokens(batch)
        let c = directory.config
        let ws = Workspace(tokens: packed.count, hiddenSize: c.hiddenSize, intermediateSize: c.intermediateSize)
        switch encoder {
        case .bert(let model): model.forward(packed, ws, pool: pool)
        case .mpnet(let model): model.forward(packed, ws, pool: pool)
        }
        return packed.sequences.map { range in
            var vector = Pooling.pool(
                ws.hidden, rows: range, width: c.hiddenSize, strategy: directory.pooling,
                skipping: promptLength)
            if directory.normalize { Pooling.normalize(&vector) }
            return vector
        }
    }
}
