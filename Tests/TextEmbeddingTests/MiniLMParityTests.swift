import Foundation
import TestSupport
import Testing

@testable import TextEmbedding

/// all-MiniLM-L6-v2 against the Python reference (tokenizers + sentence-transformers) on 158
/// stress texts: accents, CJK, emoji, control and zero-width characters, truncation, empty input.
@Suite struct MiniLMParityTests {
    let references: [ReferenceText]
    let model: SentenceEmbedder

    init() throws {
        references = try ReferenceText.load("minilm_reference.json")
        model = try TestModels.miniLM.get()
    }

    @Test func referenceHas158Texts() {
        #expect(references.count == 158)
    }

    @Test func tokenIDsEqualTheReference() throws {
        var mismatches: [String] = []
        for reference in references {
            let ids = try model.encode([reference.text])[0].ids
            if ids != reference.inputIDs {
                mismatches.append(
                    "#\(reference.id) [\(reference.category)] \(reference.text.debugDescription.prefix(60)): got \(ids.prefix(40)), expected \(reference.inputIDs.prefix(40))"
                )
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) texts differ:\n\(mismatches.joined(separator: "\n"))")
    }

    @Test func embeddingsMatchTheReferenceOneByOne() throws {
        var worst = (cosine: 1.0, id: -1)
        for reference in references {
            let vector = try model.embed(reference.text)
            #expect(vector.count == 384)
            let c = cosine(vector, reference.embedding)
            if c < worst.cosine { worst = (c, reference.id) }
        }
        #expect(worst.cosine >= 0.9999, "lowest cosine \(worst.cosine) for text #\(worst.id)")
    }

    @Test func batchedEmbeddingsEqualSingleOnes() throws {
        // One padded batch of all texts (lengths 2…256) must give what one-by-one gives.
        let texts = references.map(\.text)
        let batched = try model.embed(texts)
        for (reference, vector) in zip(references, batched) {
            let c = cosine(vector, reference.embedding)
            #expect(c >= 0.9999, "text #\(reference.id): cosine \(c) in a batch")
        }
    }

    @Test func vectorsAreUnitLength() throws {
        for vector in try model.embed(["hello", "", "A longer sentence about memory."]) {
            let norm = vector.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(abs(norm - 1) < 1e-5)
        }
    }

    @Test func dimensionIsAPropertyOfTheModel() {
        #expect(model.dimension == 384)
        #expect(model.directory.pooling == .mean)
        #expect(model.directory.maxSequenceLength == 256)
    }

    @Test func concurrentCallersGetTheSameVectors() async throws {
        let texts = Array(references.prefix(24)).map(\.text)
        let expected = try model.embed(texts)
        let model = self.model
        try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for (i, text) in texts.enumerated() {
                group.addTask { (i, try model.embed(text)) }
            }
            for try await (i, vector) in group {
                #expect(cosine(vector, expected[i]) > 0.999999)
            }
        }
    }
}
