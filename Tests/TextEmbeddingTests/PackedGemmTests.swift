import Foundation
import TestSupport
import Testing

@testable import TextEmbedding

/// The packed kernel against a double-precision reference at every row count that selects a
/// different micro-kernel (1–6 rows, blocks of unequal rows, blocks past the L2 budget), k across
/// chunk boundaries, and with edge panels.
@Suite struct PackedGemmTests {
    func reference(_ x: [Float], _ w: [Float], _ b: [Float], m: Int, n: Int, k: Int) -> [Double] {
        var y = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = Double(b[j])
                for kk in 0..<k { s += Double(x[i * k + kk]) * Double(w[j * k + kk]) }
                y[i * n + j] = s
            }
        }
        return y
    }

    func random(_ count: Int, seed: inout UInt64) -> [Float] {
        (0..<count).map { _ in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed >> 11) % 2001 - 1000) / 1000
        }
    }

    @Test(arguments: [
        (1, 16, 8), (2, 32, 5), (3, 17, 33), (4, 48, 64), (5, 40, 7), (7, 16, 16), (8, 35, 19),
        (13, 64, 100), (300, 48, 1536),
    ])
    func linearLayerMatchesReference(_ shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        var seed: UInt64 = UInt64(m * 1000 + n * 10 + k)
        let x = random(m * k, seed: &seed), w = random(n * k, seed: &seed), b = random(n, seed: &seed)
        let expected = reference(x, w, b, m: m, n: n, k: k)
        do {
            for threads in [1, 2, 3] {
                let layer = Linear(weight: w, bias: b, in: k, out: n)
                let pool = WorkerPool(extraThreads: threads - 1)
                var y = [Float](repeating: .nan, count: m * n)
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { layer.forward(xp.baseAddress!, rows: m, into: $0.baseAddress!, pool: pool) }
                }
                let worst = zip(y, expected).map { abs(Double($0) - $1) }.max() ?? 0
                #expect(worst < 1e-4 * Double(k).squareRoot(), "\(threads) threads, \(m)×\(n)×\(k): \(worst)")
            }
        }
    }

    /// Every panel kernel this CPU runs, directly (the linear layers of an AVX-512 CPU use another),
    /// on the whole matrix and on two ranges of panels computed separately (as threads split it).
    @Test(arguments: [
        (1, 16, 8), (1, 20, 301), (2, 33, 299), (3, 17, 33), (4, 48, 257), (5, 40, 7), (6, 64, 512), (7, 16, 16),
        (11, 35, 600), (13, 64, 100), (250, 40, 600), (300, 20, 16), (1200, 20, 32),
    ])
    func everyPanelKernelMatchesReference(_ shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        var seed: UInt64 = UInt64(m * 7919 + n * 31 + k)
        let x = random(m * k, seed: &seed), w = random(n * k, seed: &seed), b = random(n, seed: &seed)
        let expected = reference(x, w, b, m: m, n: n, k: k)
        let matrix = PackedMatrix(linearWeight: w, out: n, in: k)
        let panels = matrix.panels
        for kernel in Float32PanelKernel.allCases where kernel.isSupported {
            for split in [[0..<panels], [0..<panels / 2, panels / 2..<panels]] {
                var y = [Float](repeating: .nan, count: m * n)
                x.withUnsafeBufferPointer { xp in
                    b.withUnsafeBufferPointer { bp in
                        y.withUnsafeMutableBufferPointer { yp in
                            for range in split {
                                PackedGemm.multiply(
                                    m: m, a: xp.baseAddress!, lda: k, b: matrix, bias: bp.baseAddress!, c: yp.baseAddress!,
                                    ldc: n, panels: range, kernel: kernel)
                            }
                        }
                    }
                }
                // A NaN left unwritten would drop out of `max()`: counted apart.
                #expect(!y.contains { $0.isNaN }, "\(kernel): unwritten outputs at \(m)×\(n)×\(k)")
                let worst = zip(y, expected).map { abs(Double($0) - $1) }.max() ?? .infinity
                #expect(worst < 1e-4 * Double(k).squareRoot(), "\(kernel), \(split.count) ranges, \(m)×\(n)×\(k): \(worst)")
            }
        }
    }

    @Test func stridedPackingMatchesTheSource() {
        // Kᵀ of a head inside a [tokens × 3H] buffer, as attention packs it.
        let tokens = 5, stride = 12, d = 3
        let source = (0..<(tokens * stride)).map { Float($0) }
        var packed = [Float](repeating: -1, count: PackedGemm.packedCount(k: d, n: tokens))
        source.withUnsafeBufferPointer { s in
            PackedGemm.pack(s.baseAddress! + 4, k: d, n: tokens, rowStride: 1, columnStride: stride, into: &packed)
        }
        for i in 0..<d {
            for j in 0..<16 {
                let expected: Float = j < tokens ? source[4 + j * stride + i] : 0
                #expect(packed[i * 16 + j] == expected)
            }
        }
    }
}
