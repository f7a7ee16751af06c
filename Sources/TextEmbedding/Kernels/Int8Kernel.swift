import CKernels
import CPUFeatures

/// The CPU kernel int8 linear layers run on, chosen once per process from cpuid (and
/// `EPISODIC_CPU_FEATURES`). Every kernel computes the same exact int32 sums, so the choice
/// changes speed, never a vector.
public enum Int8Kernel: String, Sendable, CaseIterable, CPUKernelChoice {
    /// AVX-512 VNNI (`vpdpbusd`): 64 multiply-adds per instruction.
    case avx512vnni
    /// AVX2 (`vpmaddwd` on operands widened to 16 bits).
    case avx2
    /// Plain C, for any CPU.
    case portable

    var code: Int32 {
        switch self {
        case .avx512vnni: Int32(EK_I8_VNNI)
        case .avx2: Int32(EK_I8_AVX2)
        case .portable: Int32(EK_I8_PORTABLE)
        }
    }

    /// Whether this CPU can run the kernel.
    public var isSupported: Bool { ek_i8_path_supported(code) != 0 }

    /// The fastest kernel the CPU supports among those `EPISODIC_CPU_FEATURES` allows.
    public static let selected: Int8Kernel = best(allowing: CPUFeatureRestriction.current)
}
