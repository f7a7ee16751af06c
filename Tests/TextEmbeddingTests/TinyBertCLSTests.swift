import Foundation
import TestSupport
import Testing

@testable import TextEmbedding

/// The 1024-dim path with CLS pooling, float16 weights and a bge-style query prompt, against
/// PyTorch's outputs for a small random BERT (Tests/TestSupport/Fixtures/tiny-bert-cls-1024).
@Suite struct TinyBertCLSTests {
    struct Case { var text: String; var ids: [Int32]; var embedding: [Float] }

    let model: SentenceEmbedder
    let passages: [Case]
    let queries: [Case]

    init() throws {
        model = try SentenceEmbedder(directory: Fixtures.tinyBert)
        let root = try Fixtures.json(Fixtures.tinyBert.appendingPathComponent("reference.json"))
        func cases(_ key: String) -> [Case] {
            (root[key] as! [[String: Any]]).map {
                Case(
                    text: $0["text"] as! String, ids: ($0["input_ids"] as! [Int]).map(Int32.init),
                    embedding: ($0["embedding"] as! [Double]).map(Float.init))
            }
        }
        passages = cases("passages")
        queries = cases("queries")
    }

    @Test func configurationIsReadFromTheDirectory() {
        #expect(model.dimension == 1024)
        #expect(model.directory.config.headCount == 16)
        #expect(model.directory.pooling == .cls)
        #expect(model.directory.normalize)
        #expect(model.directory.queryPrompt == "Represent this sentence for searching relevant passages: ")
        #expect(model.directory.passagePrompt == "")
    }

    @Test func passagesMatchPyTorch() throws {
        #expect(passages.count == 10)
        let vectors = try model.embed(passages.map(\.text), as: .passage)
        for (reference, vector) in zip(passages, vectors) {
            #expect(try model.encode([reference.text], as: .passage)[0].ids == reference.ids)
            #expect(cosine(vector, reference.embedding) >= 0.9999, "\(reference.text)")
        }
    }

    @Test func queriesGetThePromptAndMatchPyTorch() throws {
        #expect(queries.count == 3)
        for reference in queries {
            #expect(try model.encode([reference.text], as: .query)[0].ids == reference.ids)
            let vector = try model.embed(reference.text, as: .query)
            #expect(cosine(vector, reference.embedding) >= 0.9999, "\(reference.text)")
            // Without the prompt the same text is a different input: the prompt must matter.
            let passage = try model.embed(reference.text, as: .passage)
            #expect(cosine(passage, reference.embedding) < 0.9999)
        }
    }
}
