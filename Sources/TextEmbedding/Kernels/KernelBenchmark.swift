import Dispatch

/// Measures the linear-layer matrix product at a given shape with both engines — the packed Swift
/// kernel and OpenBLAS — interleaved in one run so that machine noise hits both alike.
/// Backs `episodic bench gemm`.
public enum KernelBenchmark {
    public struct GemmFigures: Sendable {
        public var m: Int, n: Int, k: Int
        /// Median milliseconds per product.
        public var packedMs: Double
        public var openBLASMs: Double
        public var packedGFLOPs: Double { 2 * Double(m * n * k) / packedMs / 1e6 }
        public var openBLASGFLOPs: Double { 2 * Double(m * n * k) / openBLASMs / 1e6 }
    }

    /// Times `y = x · Wᵀ + b` for an `[n × k]` weight and `m` rows, `repetitions` times per engine.
    /// With `cold`, the weights rotate through copies larger than the last-level cache (64 MB), as
    /// in a forward pass where each layer's weights were evicted since their last use.
    public static func linear(m: Int, n: Int, k: Int, repetitions: Int = 50, cold: Bool = false) -> GemmFigures {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Float {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed >> 11) % 2000 - 1000) / 1000
        }
        let weight = (0..<(n * k)).map { _ in next() }
        let bias = (0..<n).map { _ in next() }
        let x = (0..<(m * k)).map { _ in next() }
        let copies = cold ? max(1, (64 << 20) / (n * k * 4)) : 1
        let packed = (0..<copies).map { _ in Linear(weight: weight, bias: bias, in: k, out: n, backend: .packed) }
        let blas = (0..<copies).map { _ in Linear(weight: weight, bias: bias, in: k, out: n, backend: .openBLAS) }
        let y = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        defer { y.deallocate() }
        var packedTimes: [Double] = [], blasTimes: [Double] = []
        let pool = WorkerPool(extraThreads: 0)
        x.withUnsafeBufferPointer { xp in
            for layer in [packed[0], blas[0]] { layer.forward(xp.baseAddress!, rows: m, into: y, pool: pool) }
            for repetition in 0..<repetitions {
                for (layer, isPacked) in [(packed[repetition % copies], true), (blas[repetition % copies], false)] {
                    let start = DispatchTime.now().uptimeNanoseconds
                    layer.forward(xp.baseAddress!, rows: m, into: y, pool: pool)
                    let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                    if isPacked { packedTimes.append(ms) } else { blasTimes.append(ms) }
                }
            }
        }
        func median(_ v: [Double]) -> Double { let s = v.sorted(); return s[s.count / 2] }
        return GemmFigures(m: m, n: n, k: k, packedMs: median(packedTimes), openBLASMs: median(blasTimes))
    }
}
