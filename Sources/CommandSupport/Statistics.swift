import Foundation

/// Summary of repeated timings, with the same definitions as the peer scripts
/// (`../shared/peers/*.py`): median of the samples, p95 = sorted[⌊0.95·(n−1)⌋].
public struct TimingSummary: Codable, Equatable, Sendable {
    public var min_ms: Double
    public var median_ms: Double
    public var p95_ms: Double
    public var n: Int

    public init(milliseconds samples: [Double]) {
        let sorted = samples.sorted()
        n = sorted.count
        min_ms = Self.round3(sorted.first ?? 0)
        median_ms = Self.round3(Self.median(sorted))
        p95_ms = Self.round3(sorted.isEmpty ? 0 : sorted[Int(0.95 * Double(sorted.count - 1))])
    }

    public static func median(_ sorted: [Double]) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    public static func percentile(_ samples: [Double], _ p: Double) -> Double {
        let sorted = samples.sorted()
        return sorted.isEmpty ? 0 : sorted[Int(p * Double(sorted.count - 1))]
    }

    public static func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
}

/// Wall-clock milliseconds of `body`.
@inline(never)
public func measureMilliseconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
}
