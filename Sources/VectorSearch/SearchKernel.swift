import CKernels
import CPUFeatures

/// The CPU kernel of the search index's float32 dot product and int8 candidate scan, chosen once
/// per process from cpuid (and `EPISODIC_CPU_FEATURES`): AVX2 + FMA where the CPU has it — also in
/// a build for the baseline CPU (`EPISODIC_PORTABLE=1`), whose own code ran the dot as a libm
/// `fmaf` call per lane and the scan as scalar code — else the build's own target. The kernels
/// differ only in the order of float32 sums (the scan's int32 sums are exact); within a process
/// every caller uses the same one, so the index, rescoring and brute force agree bit for bit.
public enum SearchKernel: String, Sendable, CaseIterable, CPUKernelChoice {
    /// AVX2 + FMA.
    case avx2
    /// The same C compiled for the build's own target.
    case portable

    var code: Int32 {
        switch self {
        case .avx2: Int32(EK_VEC_AVX2)
        case .portable: Int32(EK_VEC_PORTABLE)
        }
    }

    /// Whether this CPU can run the kernel.
    public var isSupported: Bool { ek_vec_path_supported(code) != 0 }

    /// The fastest kernel the CPU supports among those `EPISODIC_CPU_FEATURES` allows.
    public static let selected: SearchKernel = best(allowing: CPUFeatureRestriction.current)
}
