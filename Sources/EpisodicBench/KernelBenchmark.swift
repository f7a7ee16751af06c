import CommandSupport
import Dispatch
@_spi(Benchmarks) import TextEmbedding

/// Measures the linear-layer matrix product at a given shape with both engines — the packed Swift
/// kernel of the embedding engine and OpenBLAS — interleaved in one run so that machine noise
/// hits both alike.
enum KernelBenchmark {
    struct GemmFigures {
        var m: Int, n: Int, k: Int
        /// Median milliseconds per product.
        var packedMs: Double
        var openBLASMs: Double
        var packedGFLOPs: Double { 2 * Double(m * n * k) / packedMs / 1e6 }
        var openBLASGFLOPs: Double { 2 * Double(m * n * k) / openBLASMs / 1e6 }
    }

    /// Times `y = x · Wᵀ + b` for an `[n × k]` weight and `m` rows, `repetitions` times per engine.
    /// With `cold`, the weights rotate through copies larger than the last-level cache (64 MB), as
    /// in a forward pass where each layer's weights were evicted since their last use.
    static func linear(m: Int, n: Int, k: Int, repetitions: Int = 50, cold: Bool = false, precision: EmbeddingPrecision = .fp32)
        -> GemmFigures
    {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Float {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed >> 11) % 2000 - 1000) / 1000
        }
        let weight = (0..<(n * k)).map { _ in next() }
        let bias = (0..<n).map { _ in next() }
        let x = (0..<(m * k)).map { _ in next() }
        let copies = cold ? max(1, (64 << 20) / (n * k * 4)) : 1
        let packed = (0..<copies).map { _ in BenchmarkLinearLayer(weight: weight, bias: bias, in: k, out: n, precision: precision) }
        let blas = (0..<copies).map { _ in OpenBLASLinearLayer(weight: weight, bias: bias, in: k, out: n) }
        let y = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        defer { y.deallocate() }
        var packedTimes: [Double] = [], blasTimes: [Double] = []
        x.withUnsafeBufferPointer { xp in
            let input = xp.baseAddress!
            packed[0].forward(input, rows: m, into: y)
            blas[0].forward(input, rows: m, into: y)
            for repetition in 0..<repetitions {
                packedTimes.append(measureMilliseconds { packed[repetition % copies].forward(input, rows: m, into: y) })
                blasTimes.append(measureMilliseconds { blas[repetition % copies].forward(input, rows: m, into: y) })
            }
        }
        return GemmFigures(
            m: m, n: n, k: k, packedMs: TimingSummary.median(packedTimes.sorted()),
            openBLASMs: TimingSummary.median(blasTimes.sorted()))
    }
}
