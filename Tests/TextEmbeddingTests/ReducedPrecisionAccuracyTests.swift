import Foundation
import TestSupport
import Testing

@testable import TextEmbedding

/// The accuracy gates of the reduced precisions, on every reference text of both bundled models
/// (158 stress texts each: accents, CJK, emoji, code, truncation, degenerate repetition):
///
/// - bf16 — what `auto` picks on a CPU with AVX512_BF16 — keeps every vector at cosine ≥ 0.999 to
///   the fp32 reference (on a CPU without it the portable kernel computes the same bf16 products);
/// - int8 misses that gate (degenerate repetitions such as "word word word …" swing mpnet's mean
///   pooling), which is why it is opt-in; its own envelope is held here so that it cannot regress.
@Suite struct ReducedPrecisionAccuracyTests {
    static let models: [(name: String, reference: String, url: URL)] = [
        ("all-MiniLM-L6-v2", "minilm_reference.json", Fixtures.miniLM),
        ("all-mpnet-base-v2", "mpnet_reference.json", Fixtures.mpnet),
    ]

    /// Cosine of each reference text's vector in `precision` to the fp32 reference, by category.
    func cosines(model index: Int, precision: EmbeddingPrecision) throws -> [(category: String, text: String, cosine: Double)] {
        let m = Self.models[index]
        let references = try ReferenceText.load(m.reference)
        let embedder = try SentenceEmbedder(directory: m.url, options: .init(threads: 2, precision: precision))
        #expect(embedder.precision == precision.resolved)
        let vectors = try embedder.embed(references.map(\.text))
        return zip(references, vectors).map { ($0.category, $0.text, cosine($1, $0.embedding)) }
    }

    @Test(arguments: models.indices)
    func bf16HoldsTheGateOnEveryReferenceText(_ index: Int) throws {
        let results = try cosines(model: index, precision: .bf16)
        let worst = results.min { $0.cosine < $1.cosine }!
        #expect(results.count == 158)
        #expect(worst.cosine >= 0.999, "\(Self.models[index].name): cosine \(worst.cosine) for \(worst.text.debugDescription.prefix(60))")
    }

    @Test(arguments: models.indices)
    func autoHoldsTheGateOnEveryReferenceText(_ index: Int) throws {
        let results = try cosines(model: index, precision: .auto)
        let worst = results.min { $0.cosine < $1.cosine }!
        #expect(worst.cosine >= 0.999, "\(Self.models[index].name) (auto = \(EmbeddingPrecision.auto.resolved)): cosine \(worst.cosine)")
    }

    @Test func int8StaysWithinItsEnvelopeOnMiniLM() throws {
        let results = try cosines(model: 0, precision: .int8)
        let worst = results.min { $0.cosine < $1.cosine }!
        let mean = results.map(\.cosine).reduce(0, +) / Double(results.count)
        #expect(worst.cosine >= 0.99, "cosine \(worst.cosine) for \(worst.text.debugDescription.prefix(60))")
        #expect(mean >= 0.998, "mean cosine \(mean)")
    }

    @Test func int8StaysWithinItsEnvelopeOnMPNetOutsideDegenerateRepetition() throws {
        let results = try cosines(model: 1, precision: .int8)
        let natural = results.filter { !$0.text.hasPrefix("word word word") }
        let worst = natural.min { $0.cosine < $1.cosine }!
        let mean = results.map(\.cosine).reduce(0, +) / Double(results.count)
        #expect(natural.count == 154)
        #expect(worst.cosine >= 0.985, "cosine \(worst.cosine) for \(worst.text.debugDescription.prefix(60))")
        #expect(mean >= 0.994, "mean cosine \(mean)")
    }
}
