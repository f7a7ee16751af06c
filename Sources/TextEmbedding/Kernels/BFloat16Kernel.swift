import CKernels
import CPUFeatures

/// The CPU kernel bf16 linear layers run on, chosen once per process from cpuid (and
/// `EPISODIC_CPU_FEATURES`). Every kernel multiplies the same bf16 values and sums in float32, so
/// the choice changes speed and the order of the sums, never what is rounded.
public enum BFloat16Kernel: String, Sendable, CaseIterable, CPUKernelChoice {
    /// AVX512_BF16 (`vdpbf16ps`): 32 multiply-adds per instruction.
    case avx512bf16
    /// AVX2 + FMA: the weights widened to float32 in L1 a chunk at a time (in registers for one or
    /// two rows) — float32's multiply-adds on half its weight bytes.
    case avx2
    /// Plain C (bf16 values widened to float32): bf16's accuracy without its speed.
    case portable

    var code: Int32 {
        switch self {
        case .avx512bf16: Int32(EK_BF16_AVX512)
        case .avx2: Int32(EK_BF16_AVX2)
        case .portable: Int32(EK_BF16_PORTABLE)
        }
    }

    /// Whether this CPU can run the kernel.
    public var isSupported: Bool { ek_bf16_path_supported(code) != 0 }

    /// The kernel of this process (the CPU's fastest, unless `EPISODIC_CPU_FEATURES` excludes it).
    public static let selected: BFloat16Kernel = best(allowing: CPUFeatureRestriction.current)
}
