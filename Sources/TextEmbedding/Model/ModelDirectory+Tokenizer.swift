import Foundation

extension ModelDirectory {
    /// The directory's `tokenizer.json`, checked against the model it belongs to: every token id
    /// inside the vocabulary and, for BERT, every token type inside `type_vocab_size` — a mismatched
    /// tokenizer would otherwise index past the embedding tables.
    public func loadTokenizer() throws -> WordPieceTokenizer {
        let data: Data
        do { data = try Data(contentsOf: tokenizerURL) } catch {
            throw EmbeddingError.missingFile(name: "tokenizer.json", directory: url.path)
        }
        let tokenizer = try WordPieceTokenizer(json: data, padToken: padToken)
        if tokenizer.maxTokenID >= config.vocabSize {
            throw EmbeddingError.invalidConfiguration(
                file: "tokenizer.json", reason: "token id \(tokenizer.maxTokenID) is outside the model's vocabulary of \(config.vocabSize)")
        }
        if config.modelType == "bert", tokenizer.maxTypeID >= max(1, config.typeVocabSize) {
            throw EmbeddingError.invalidConfiguration(file: "tokenizer.json", reason: "token type \(tokenizer.maxTypeID) is outside type_vocab_size")
        }
        return tokenizer
    }
}
