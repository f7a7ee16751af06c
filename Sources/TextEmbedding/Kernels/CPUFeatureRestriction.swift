import Foundation

/// The environment variable that restricts the CPU features the reduced-precision kernels may use,
/// e.g. `EPISODIC_CPU_FEATURES=avx2` on an AVX-512 machine (to compare the paths, or to work
/// around a CPU that misbehaves): a comma-separated list of `avx512vnni`, `avx512bf16`, `avx2`
/// (`avx512` allows both AVX-512 features; `avx2` both kernels' AVX2 paths); empty or `none`
/// leaves the portable kernels. Unset, every feature the CPU has is used.
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

/// A choice among CPU kernels of one kind: cases named by the feature each needs, declared
/// fastest first, ending with a portable kernel every CPU runs.
protocol CPUKernelChoice: RawRepresentable<String>, CaseIterable, Equatable where AllCases == [Self] {
    /// The kernel every CPU runs.
    static var portable: Self { get }
    /// Whether this CPU can run the kernel.
    var isSupported: Bool { get }
}

extension CPUKernelChoice {
    /// The fastest supported kernel whose feature is in `features` (nil: no restriction), else the
    /// portable one.
    static func best(allowing features: Set<String>?) -> Self {
        allCases.first { $0 != portable && $0.isSupported && CPUFeatureRestriction.allows($0.rawValue, in: features) }
            ?? portable
    }
}
