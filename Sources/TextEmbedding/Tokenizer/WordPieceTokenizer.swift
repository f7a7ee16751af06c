import Foundation

/// One text as the model sees it: token ids with the special tokens, and their token type ids.
public struct Encoding: Sendable, Equatable {
    public var ids: [Int32]
    public var typeIDs: [Int32]
    /// Whether text was cut off to fit the maximum length.
    public var isTruncated: Bool
}

/// A batch of encodings padded to the longest one, row-major `[batchSize × sequenceLength]`.
public struct TokenBatch: Sendable, Equatable {
    public var batchSize: Int
    public var sequenceLength: Int
    public var ids: [Int32]
    public var typeIDs: [Int32]
    /// 1 for a real token, 0 for padding.
    public var attentionMask: [Int32]

    /// The number of real tokens of row `row`.
    public func length(ofRow row: Int) -> Int {
        var n = 0
        for j in 0..<sequenceLength where attentionMask[row * sequenceLength + j] != 0 { n += 1 }
        return n
    }
}

/// A BERT-style tokenizer read from a Hugging Face `tokenizer.json`: added tokens, BertNormalizer,
/// BertPreTokenizer, WordPiece and the post-processor's special tokens. Its output equals the Rust
/// `tokenizers` library's for the same file.
///
/// Truncation is not taken from `tokenizer.json` (sentence-transformers overrides it): pass the
/// model's `max_seq_length` as `maxLength`.
public struct WordPieceTokenizer: Sendable {
    let addedRaw: AddedTokenMatcher
    let addedNormalized: AddedTokenMatcher
    let normalizer: BertNormalizer?
    let preTokenizer = BertPreTokenizer()
    let model: WordPiece
    let postProcessor: PostProcessor
    /// The id used to pad batches.
    public let padID: Int32
    /// The largest id this tokenizer can emit (checked against the model's vocabulary size).
    public let maxTokenID: Int32
    /// The largest token type id this tokenizer can emit.
    public var maxTypeID: Int32 {
        (postProcessor.prefix + postProcessor.suffix).map(\.typeID).reduce(postProcessor.sequenceTypeID, max)
    }

    /// Reads `tokenizer.json` at `url`.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw EmbeddingError.missingFile(name: url.lastPathComponent, directory: url.deletingLastPathComponent().path)
        }
        try self.init(json: data, padToken: nil)
    }

    /// Parses the contents of a `tokenizer.json`. `padToken` names the padding token when the file
    /// has no `padding` block (from `special_tokens_map.json`).
    public init(json data: Data, padToken: String?) throws {
        func invalid(_ reason: String) -> EmbeddingError { .invalidConfiguration(file: "tokenizer.json", reason: reason) }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw invalid("not a JSON object")
        }
        guard let modelJSON = root["model"] as? [String: Any] else { throw invalid("no model") }
        let modelType = modelJSON["type"] as? String ?? "WordPiece"
        guard modelType == "WordPiece" else { throw EmbeddingError.unsupportedTokenizer(component: "model \(modelType)") }
        guard let rawVocab = modelJSON["vocab"] as? [String: Any] else { throw invalid("WordPiece model without a vocab") }
        var vocab: [String: Int32] = [:]
        vocab.reserveCapacity(rawVocab.count)
        for (piece, value) in rawVocab {
            guard let id = value as? Int else { throw invalid("vocab entry \(piece) has no integer id") }
            vocab[piece] = Int32(id)
        }
        model = try WordPiece(
            vocabulary: vocab,
            unknownToken: modelJSON["unk_token"] as? String ?? "[UNK]",
            continuingSubwordPrefix: modelJSON["continuing_subword_prefix"] as? String ?? "##",
            maxInputCharsPerWord: modelJSON["max_input_chars_per_word"] as? Int ?? 100)

        if let n = root["normalizer"] as? [String: Any] {
            guard n["type"] as? String == "BertNormalizer" else {
                throw EmbeddingError.unsupportedTokenizer(component: "normalizer \(n["type"] as? String ?? "?")")
            }
            normalizer = BertNormalizer(
                cleanText: n["clean_text"] as? Bool ?? true,
                handleChineseChars: n["handle_chinese_chars"] as? Bool ?? true,
                stripAccents: n["strip_accents"] as? Bool,
                lowercase: n["lowercase"] as? Bool ?? true)
        } else {
            normalizer = nil
        }
        if let p = root["pre_tokenizer"] as? [String: Any], p["type"] as? String != "BertPreTokenizer" {
            throw EmbeddingError.unsupportedTokenizer(component: "pre_tokenizer \(p["type"] as? String ?? "?")")
        }
        if let p = root["post_processor"] as? [String: Any] {
            postProcessor = try PostProcessor(json: p)
        } else {
            postProcessor = PostProcessor()
        }

        var raw: [AddedTokenMatcher.Token] = []
        var normalized: [AddedTokenMatcher.Token] = []
        for entry in root["added_tokens"] as? [[String: Any]] ?? [] {
            guard let content = entry["content"] as? String, let id = entry["id"] as? Int else { continue }
            let token = AddedTokenMatcher.Token(
                content: Array(content.unicodeScalars), id: Int32(id),
                singleWord: entry["single_word"] as? Bool ?? false,
                lstrip: entry["lstrip"] as? Bool ?? false,
                rstrip: entry["rstrip"] as? Bool ?? false)
            if entry["normalized"] as? Bool ?? false, let normalizer {
                var scalars: [Unicode.Scalar] = []
                normalizer.normalize(content.unicodeScalars, into: &scalars)
                normalized.append(
                    .init(
                        content: scalars, id: token.id, singleWord: token.singleWord,
                        lstrip: token.lstrip, rstrip: token.rstrip))
            } else {
                raw.append(token)
            }
        }
        addedRaw = AddedTokenMatcher(raw)
        addedNormalized = AddedTokenMatcher(normalized)

        if let padding = root["padding"] as? [String: Any], let id = padding["pad_id"] as? Int {
            padID = Int32(id)
        } else if let padToken, let id = vocab[padToken] {
            padID = id
        } else {
            padID = vocab["[PAD]"] ?? vocab["<pad>"] ?? 0
        }
        maxTokenID =
            ([padID] + Array(vocab.values) + (raw + normalized).map(\.id)
            + (postProcessor.prefix + postProcessor.suffix).map(\.id)).max() ?? 0
    }

    /// The number of special tokens added around one sequence.
    public var specialTokenCount: Int { postProcessor.addedCount }

    /// Token ids of `text` without special tokens. With a `limit`, tokenization stops once more
    /// than `limit` ids exist (words are tokenized independently, so the first `limit` ids are the
    /// same as when tokenizing everything); callers truncate.
    public func tokenIDs(_ text: String, limit: Int = .max) -> [Int32] {
        var ids: [Int32] = []
        var normalized: [Unicode.Scalar] = []
        let raw = Array(text.unicodeScalars)
        for segment in addedRaw.split(raw) where ids.count <= limit {
            switch segment {
            case .token(let id):
                ids.append(id)
            case .text(let range):
                if let normalizer {
                    normalizer.normalize(raw[range], into: &normalized)
                } else {
                    normalized = Array(raw[range])
                }
                for inner in addedNormalized.split(normalized) where ids.count <= limit {
                    switch inner {
                    case .token(let id):
                        ids.append(id)
                    case .text(let range):
                        let words = Array(normalized[range])
                        preTokenizer.forEachWord(in: words) { word in
                            if ids.count <= limit { model.tokenize(words[word], into: &ids) }
                        }
                    }
                }
            }
        }
        return ids
    }

    /// Encodes `text` with special tokens, truncated on the right to `maxLength` tokens in all.
    public func encode(_ text: String, maxLength: Int? = nil) -> Encoding {
        let budget = maxLength.map { max(0, $0 - postProcessor.addedCount) } ?? .max
        var content = tokenIDs(text, limit: budget)
        let truncated = content.count > budget
        if truncated { content.removeSubrange(budget...) }
        var ids: [Int32] = []
        var types: [Int32] = []
        ids.reserveCapacity(content.count + postProcessor.addedCount)
        types.reserveCapacity(ids.capacity)
        for (id, type) in postProcessor.prefix { ids.append(id); types.append(type) }
        ids.append(contentsOf: content)
        types.append(contentsOf: repeatElement(postProcessor.sequenceTypeID, count: content.count))
        for (id, type) in postProcessor.suffix { ids.append(id); types.append(type) }
        return Encoding(ids: ids, typeIDs: types, isTruncated: truncated)
    }

    /// Encodes a pair as cross-encoders read it (BERT: `[CLS] first [SEP] second [SEP]`, the second
    /// text's tokens of type 1), at most `maxLength` tokens in all. Too long, it is truncated as
    /// Hugging Face `tokenizers` does by default (`longest_first`): the longer text is cut to what
    /// the shorter leaves free; if even the shorter exceeds half the room, each gets half.
    public func encodePair(_ first: String, _ second: String, maxLength: Int? = nil) -> Encoding {
        let p = postProcessor
        let room = maxLength.map { max(0, $0 - p.pairAddedCount) } ?? .max
        var a = tokenIDs(first, limit: room)
        var b = tokenIDs(second, limit: room)
        let truncated = a.count + b.count > room
        if truncated {
            let aIsShorter = a.count <= b.count
            var short = min(a.count, b.count), long = max(a.count, b.count)
            if short > room / 2 {
                short = room / 2
                long = short + room % 2
            } else {
                long = room - short
            }
            let (keepA, keepB) = aIsShorter ? (short, long) : (long, short)
            a.removeSubrange(min(keepA, a.count)...)
            b.removeSubrange(min(keepB, b.count)...)
        }
        var ids: [Int32] = [], types: [Int32] = []
        func special(_ tokens: [PostProcessor.Special]) { for (id, type) in tokens { ids.append(id); types.append(type) } }
        special(p.pairPrefix)
        ids += a
        types += repeatElement(p.pairTypeIDs.first, count: a.count)
        special(p.pairMiddle)
        ids += b
        types += repeatElement(p.pairTypeIDs.second, count: b.count)
        special(p.pairSuffix)
        return Encoding(ids: ids, typeIDs: types, isTruncated: truncated)
    }

    /// Encodes `texts` and pads them to the longest with `padID` (type 0, mask 0).
    public func encodeBatch(_ texts: [String], maxLength: Int? = nil) -> TokenBatch {
        let encodings = texts.map { encode($0, maxLength: maxLength) }
        return Self.pad(encodings, padID: padID)
    }

    /// Pads `encodings` into one batch.
    public static func pad(_ encodings: [Encoding], padID: Int32) -> TokenBatch {
        let length = encodings.map(\.ids.count).max() ?? 0
        var batch = TokenBatch(
            batchSize: encodings.count, sequenceLength: length,
            ids: Array(repeating: padID, count: encodings.count * length),
            typeIDs: Array(repeating: 0, count: encodings.count * length),
            attentionMask: Array(repeating: 0, count: encodings.count * length))
        for (row, encoding) in encodings.enumerated() {
            for (j, id) in encoding.ids.enumerated() {
                batch.ids[row * length + j] = id
                batch.typeIDs[row * length + j] = encoding.typeIDs[j]
                batch.attentionMask[row * length + j] = 1
            }
        }
        return batch
    }
}
