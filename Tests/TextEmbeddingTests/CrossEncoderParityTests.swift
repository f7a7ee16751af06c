import Foundation
import TestSupport
import Testing

@testable import TextEmbedding

/// The cross-encoder against PyTorch's `BertForSequenceClassification` on a tiny random model in
/// the layout of cross-encoder/ms-marco-MiniLM-L-6-v2 (pooler, one-logit classifier): pair token
/// ids and types equal Hugging Face `tokenizers`' (truncation included), logits within 1e-4
/// relative.
@Suite struct CrossEncoderParityTests {
    struct Pair {
        var query, passage: String
        var ids, types: [Int32]
        var logit: Double
    }

    let pairs: [Pair]
    let model: CrossEncoder

    init() throws {
        let reference = try Fixtures.json(Fixtures.tinyCrossEncoder.appendingPathComponent("reference.json"))
        pairs = (reference["pairs"] as! [[String: Any]]).map {
            Pair(
                query: $0["query"] as! String, passage: $0["passage"] as! String,
                ids: ($0["input_ids"] as! [Int]).map(Int32.init), types: ($0["token_type_ids"] as! [Int]).map(Int32.init),
                logit: $0["logit"] as! Double)
        }
        model = try CrossEncoder(directory: Fixtures.tinyCrossEncoder)
    }

    @Test func pairEncodingEqualsTokenizers() {
        #expect(pairs.count == 11)
        for pair in pairs {
            let encoding = model.tokenizer.encodePair(pair.query, pair.passage, maxLength: model.directory.maxSequenceLength)
            #expect(encoding.ids == pair.ids, "\(pair.query.prefix(20)) / \(pair.passage.prefix(20))")
            #expect(encoding.typeIDs == pair.types)
            #expect(encoding.isTruncated == (pair.ids.count == 64)) // only the three long pairs fill the 64 tokens
        }
    }

    @Test func logitsMatchPyTorch() throws {
        // One by one, and all pairs of one query in one batch.
        for pair in pairs {
            let logit = Double(try model.scores(query: pair.query, passages: [pair.passage])[0])
            #expect(abs(logit - pair.logit) <= 1e-4 * max(abs(pair.logit), 0.01), "\(pair.query.prefix(20)): \(logit) vs \(pair.logit)")
        }
        let flight = pairs.filter { $0.query == "when is the flight" }
        let batched = try model.scores(query: "when is the flight", passages: flight.map(\.passage))
        for (pair, logit) in zip(flight, batched) { #expect(abs(Double(logit) - pair.logit) <= 1e-4 * max(abs(pair.logit), 0.01)) }
    }

    @Test func aSentenceEmbedderDirectoryIsNotACrossEncoder() {
        #expect(throws: EmbeddingError.self) { _ = try CrossEncoder(directory: Fixtures.tinyBert) }
    }
}
