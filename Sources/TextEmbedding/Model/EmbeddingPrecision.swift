/// The arithmetic of a model's linear layers (where nearly all of its time goes). Vectors of
/// every precision live in the same space — the store records none of this — so a store may be
/// filled with one and queried with another.
public enum EmbeddingPrecision: String, Sendable, CaseIterable {
    /// float32 throughout: the reference.
    case fp32
    /// Weights and activations of the linear layers rounded to bfloat16, products summed in
    /// float32 (`vdpbf16ps` on CPUs with AVX512_BF16, float32 FMAs on weights widened to float32
    /// with AVX2; see ``BFloat16Kernel``): half float32's weight memory. Attention, softmax, GELU
    /// and layer norms stay float32.
    case bf16
    /// Linear layers quantized to int8 (weights per output channel at load, activations per token
    /// at run time) on the CPU's fastest int8 kernel (``Int8Kernel``): the fastest, and the least
    /// accurate — opt-in only (see the README for its measured cosine to fp32).
    case int8
    /// The fastest precision that holds the accuracy gates (cosine ≥ 0.999 to fp32 on every
    /// reference text of both bundled models) on this CPU: ``bf16`` with AVX512_BF16, else ``fp32``
    /// (bf16 on AVX2 holds the gates too and halves the weight memory, but did not measure
    /// reliably faster than float32: see the README).
    case auto

    /// What `auto` means on this CPU; other cases are themselves.
    public var resolved: EmbeddingPrecision {
        guard self == .auto else { return self }
        return BFloat16Kernel.selected == .avx512bf16 ? .bf16 : .fp32
    }
}

/// The arithmetic of one linear layer.
enum LinearPrecision: Sendable, Equatable {
    case fp32, bf16, int8

    init(_ precision: EmbeddingPrecision) {
        switch precision.resolved {
        case .bf16: self = .bf16
        case .int8: self = .int8
        default: self = .fp32
        }
    }
}

/// The precision of each kind of linear layer of an encoder.
struct PrecisionPlan: Sendable, Equatable {
    var attentionProjections: LinearPrecision // Q, K, V
    var attentionOutput: LinearPrecision
    var intermediate: LinearPrecision
    var output: LinearPrecision

    init(_ precision: EmbeddingPrecision) {
        let p = LinearPrecision(precision)
        attentionProjections = p
        attentionOutput = p
        intermediate = p
        output = p
    }

    static let fp32 = PrecisionPlan(.fp32)
}
