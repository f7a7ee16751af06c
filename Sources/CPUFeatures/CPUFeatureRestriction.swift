import Foundation

/// The environment variable that restricts the CPU features the kernels chosen at run time may
/// use, e.g. `EPISODIC_CPU_FEATURES=avx2` on an AVX-512 machine (to compare the paths, or to work
/// around a CPU that misbehaves): a comma-separated list of `avx512vnni`, `avx512bf16`, `avx2`
/// (`avx512` allows every AVX-512 feature; `avx2` the AVX2 paths of the encoder kernels and of
/// the search kernels); empty or `none` leaves the portable kernels. Unset, every feature the CPU
/// has is used.
package enum CPUFeatureRestriction {
    package static let variable = "EPISODIC_CPU_FEATURES"

    /// The allowed features (nil: no restriction).
    package static func allowed(_ value: String?) -> Set<String>? {
        value.map { Set($0.lowercased().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
    }

    package static func allows(_ feature: String, in allowed: Set<String>?) -> Bool {
        guard let allowed else { return true }
        return allowed.contains(feature) || (feature.hasPrefix("avx512") && allowed.contains("avx512"))
    }

    package static var current: Set<String>? { allowed(ProcessInfo.processInfo.environment[variable]) }
}
