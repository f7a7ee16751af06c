import Foundation
import TestSupport
import Testing

@testable import TextEmbedding

/// all-mpnet-base-v2 (relative position buckets, positions past the padding id, `<s>`/`</s>`)
/// against sentence-transformers on the same 158 stress texts.
@Suite struct MPNetParityTests {
    let references: [ReferenceText]
    let model: SentenceEmbedder

    init() throws {
        references = try ReferenceText.load("mpnet_reference.json")
        model = try TestModels.mpnet.get()
    }

    @Test func configuration() {
        #expect(model.dimension == 768)
        #expect(model.directory.config.modelType == "mpnet")
        #expect(model.directory.maxSequenceLength == 384)
        #expect(model.tokenizer.padID == 1)
    }

    @Test func tokenIDsEqualTheReference() throws {
        #expect(references.count == 158)
        var mismatches: [String] = []
        for reference in references {
            let ids = try model.encode([reference.text])[0].ids
            if ids != reference.inputIDs { mismatches.append("#\(reference.id) \(reference.text.debugDescription.prefix(50))") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) texts differ:\n\(mismatches.joined(separator: "\n"))")
    }

    @Test func embeddingsMatchTheReference() throws {
        // Batched: also exercises MPNet's positions and relative buckets with padding removed.
        let vectors = try model.embed(references.map(\.text))
        var worst = (cosine: 1.0, id: -1)
        for (reference, vector) in zip(references, vectors) {
            let c = cosine(vector, reference.embedding)
            if c < worst.cosine { worst = (c, reference.id) }
        }
        #expect(worst.cosine >= 0.9999, "lowest cosine \(worst.cosine) for text #\(worst.id)")
    }

    @Test func relativePositionBucketsFollowTheReferenceFormula() {
        // Hand-computed from HF's relative_position_bucket (32 buckets, max distance 128):
        // n = −relative; negative n (key after query) uses the upper half; |n| < 8 is exact;
        // beyond, 8 + ⌊log(|n|/8) / log(16) · 8⌋ capped at 15.
        #expect(RelativePositionBias.bucket(0, buckets: 32) == 0)
        #expect(RelativePositionBias.bucket(-3, buckets: 32) == 3)
        #expect(RelativePositionBias.bucket(3, buckets: 32) == 19)
        #expect(RelativePositionBias.bucket(-16, buckets: 32) == 10)
        #expect(RelativePositionBias.bucket(-15, buckets: 32) == 9)
        #expect(RelativePositionBias.bucket(-128, buckets: 32) == 15)
        #expect(RelativePositionBias.bucket(300, buckets: 32) == 31)
    }
}
