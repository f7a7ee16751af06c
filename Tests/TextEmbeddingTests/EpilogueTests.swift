import CKernels
import Testing

@testable import TextEmbedding

/// The steps a batched pass now runs inside its parallel sections — GELU applied by each thread
/// to the columns it computed, layer norms and activation conversion split by rows — give the
/// same bits as the one-thread order they replaced.
@Suite struct EpilogueTests {
    /// Shapes below and above the splitting thresholds (rows ≥ 32, ≥ 1 M multiply-adds), with a
    /// last tile narrower than 64 columns.
    static let shapes: [(m: Int, k: Int, n: Int)] = [(3, 40, 70), (12, 768, 3072), (40, 384, 1536), (33, 100, 130)]

    static func problem(_ s: (m: Int, k: Int, n: Int), seed: UInt64) -> (x: [Float], w: [Float], bias: [Float]) {
        var state = seed
        func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2_000_001) / 1_000_000 - 1
        }
        return ((0..<(s.m * s.k)).map { _ in next() * 2 }, (0..<(s.n * s.k)).map { _ in next() * 0.1 }, (0..<s.n).map { _ in next() })
    }

    /// `layer` forward with and without the fused GELU, on a pool of two threads.
    static func outputs(_ layer: Linear, _ x: [Float], rows: Int) -> (fused: [Float], afterwards: [Float]) {
        let pool = WorkerPool(extraThreads: 1)
        var fused = [Float](repeating: .nan, count: rows * layer.outFeatures), plain = fused
        x.withUnsafeBufferPointer { x in
            fused.withUnsafeMutableBufferPointer {
                layer.forward(x.baseAddress!, rows: rows, into: $0.baseAddress!, pool: pool, gelu: true)
            }
            plain.withUnsafeMutableBufferPointer { layer.forward(x.baseAddress!, rows: rows, into: $0.baseAddress!, pool: pool) }
        }
        plain.withUnsafeMutableBufferPointer { ek_gelu($0.baseAddress!, $0.count) }
        return (fused, plain)
    }

    @Test(arguments: shapes.indices)
    func fusedGELUEqualsGELUAfterTheProductInEveryPrecision(_ index: Int) {
        let s = Self.shapes[index]
        let (x, w, bias) = Self.problem(s, seed: UInt64(index + 1))
        for precision in [LinearPrecision.fp32, .bf16, .int8] {
            let layer = Linear(weight: w, bias: bias, in: s.k, out: s.n, precision: precision)
            let (fused, afterwards) = Self.outputs(layer, x, rows: s.m)
            let differing = zip(fused, afterwards).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "\(precision) at \(s): \(differing) of \(fused.count) elements differ")
            #expect(!fused.contains { $0.isNaN }, "\(precision) at \(s): an element was never written")
        }
    }

    @Test(arguments: [5, 32, 97])
    func layerNormSplitByRowsEqualsOneThread(_ rows: Int) {
        let size = 384
        let (x, _, gamma) = Self.problem((rows, size, size), seed: UInt64(rows))
        let residual = x.reversed().map { $0 * 0.5 }
        let norm = LayerNorm(gamma: FloatTensor(gamma), beta: FloatTensor(Array(gamma.reversed())), eps: 1e-12, size: size)
        var split = x, serial = x
        residual.withUnsafeBufferPointer { r in
            split.withUnsafeMutableBufferPointer {
                norm.forward($0.baseAddress!, adding: r.baseAddress!, rows: rows, pool: WorkerPool(extraThreads: 1))
            }
            serial.withUnsafeMutableBufferPointer { norm.forward($0.baseAddress!, adding: r.baseAddress!, rows: rows) }
        }
        #expect(split.map(\.bitPattern) == serial.map(\.bitPattern))
        #expect(split != x, "the layer norm changed nothing")
    }
}
