import CKernels
import Foundation

/// The environment variable that restricts the CPU features the reduced-precision kernels may use,
/// e.g. `EPISODIC_CPU_FEATURES=avx2` on an AVX-512 machine (to compare the paths, or to work
/// around a CPU that misbehaves): a comma-separated list of `avx512vnni`, `avx512bf16`, `avx2`
/// (`avx512` allows both AVX-512 features); empty or `none` leaves the portable kernels. Unset, every
/// feature the CPU has is used.
enum CPUFeatureRestriction {
    static let variable = "EPISODIC_CPU_FEATURES"

    /// The allowed features (nil: no restriction).
    static func allowed(_ value: String?) -> Set<String>? {
        value.map { Set($0.lowercased().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
    }

    static func allows(_ feature: String, in allowed: Set<String>?) -> Bool {
        guard let allowed else { return true }
        return allowed.contains(feature) || (feature.hasPrefix("avx512") && allowed.contains("avx512"))
    }

    static var current: Set<String>? { allowed(ProcessInfo.processInfo.environment[variable]) }
}

/// The CPU kernel int8 linear layers run on, chosen once per process from cpuid (and
/// `EPISODIC_CPU_FEATURES`). Every kernel computes the same exact int32 sums, so the choice
/// changes speed, never a vector.
public enum Int8Kernel: String, Sendable, CaseIterable {
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

    /// The fastest supported kernel whose feature is in `features` (nil: no restriction).
    static func best(allowing features: Set<String>?) -> Int8Kernel {
        [Int8Kernel.avx512vnni, .avx2].first { $0.isSupported && CPUFeatureRestriction.allows($0.rawValue, in: features) }
            ?? .portable
    }
}

/// The CPU kernel bf16 linear layers run on.
public enum BFloat16Kernel: String, Sendable, CaseIterable {
    /// AVX512_BF16 (`vdpbf16ps`): 32 multiply-adds per instruction.
    case avx512bf16
    /// Plain C (bf16 values widened to float32): bf16's accuracy without its speed.
    case portable

    public var isSupported: Bool { self == .portable || ek_bf16_hardware() != 0 }

    /// The kernel of this process (the CPU's, unless `EPISODIC_CPU_FEATURES` excludes it).
    public static let selected: BFloat16Kernel = best(allowing: CPUFeatureRestriction.current)

    static func best(allowing features: Set<String>?) -> BFloat16Kernel {
        BFloat16Kernel.avx512bf16.isSupported && CPUFeatureRestriction.allows("avx512bf16", in: features) ? .avx512bf16 : .portable
    }
}
