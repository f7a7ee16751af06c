import CKernels
import CPUFeatures

/// The CPU kernel of float32 products on 16-column panels (``PackedGemm``: linear layers on CPUs
/// without AVX-512, attention products everywhere), chosen once per process from cpuid (and
/// `EPISODIC_CPU_FEATURES`). The kernels differ only in the order of float32 sums.
public enum Float32PanelKernel: String, Sendable, CaseIterable, CPUKernelChoice {
    /// AVX2 + FMA: 8-lane fused multiply-adds, also in a build for the baseline CPU.
    case avx2
    /// The same C compiled for the build's own target.
    case portable

    var code: Int32 {
        switch self {
        case .avx2: Int32(EK_F32P_AVX2)
        case .portable: Int32(EK_F32P_PORTABLE)
        }
    }

    /// Whether this CPU can run the kernel.
    public var isSupported: Bool { ek_f32p_path_supported(code) != 0 }

    /// The fastest kernel the CPU supports among those `EPISODIC_CPU_FEATURES` allows.
    public static let selected: Float32PanelKernel = best(allowing: CPUFeatureRestriction.current)
}
