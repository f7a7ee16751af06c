/// A choice among CPU kernels of one kind: cases named by the feature each needs, declared
/// fastest first, ending with a portable kernel every CPU runs.
package protocol CPUKernelChoice: RawRepresentable<String>, CaseIterable, Equatable where AllCases == [Self] {
    /// The kernel every CPU runs.
    static var portable: Self { get }
    /// Whether this CPU can run the kernel.
    var isSupported: Bool { get }
}

extension CPUKernelChoice {
    /// The fastest supported kernel whose feature is in `features` (nil: no restriction), else the
    /// portable one.
    package static func best(allowing features: Set<String>?) -> Self {
        allCases.first { $0 != portable && $0.isSupported && CPUFeatureRestriction.allows($0.rawValue, in: features) }
            ?? portable
    }
}
