import CKernels
import CPUFeatures
import Foundation
import Testing

@testable import TextEmbedding

/// The int8 and bf16 linear kernels against float64 products, and every CPU path against the
/// portable one, on shapes that exercise every remainder (rows not a multiple of 6, k not of 4,
/// columns not of 64).
@Suite struct ReducedPrecisionKernelTests {
    static let shapes: [(m: Int, k: Int, n: Int)] = [(1, 5, 3), (7, 384, 70), (13, 1001, 130), (6, 3072, 64), (32, 384, 1152)]

    struct Problem {
        var m: Int, k: Int, n: Int
        var x: [Float], w: [Float], bias: [Float]

        init(m: Int, k: Int, n: Int, seed: UInt64) {
            var state = seed
            func next() -> Float {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Float(Int64(bitPattern: state >> 11) % 2_000_001) / 1_000_000 - 1 // −1…1
            }
            self.m = m; self.k = k; self.n = n
            // Activations with an offset and a few large channels, as after GELU or a layer norm.
            x = (0..<(m * k)).map { i in next() * (i % 97 == 0 ? 6 : 1) + 0.3 }
            w = (0..<(n * k)).map { _ in next() * 0.05 }
            bias = (0..<n).map { _ in next() }
        }

        /// The exact product in float64 and, per element, Σ|x||w| (the scale of its rounding errors).
        func reference() -> (y: [Double], magnitude: [Double]) {
            var y = [Double](repeating: 0, count: m * n), magnitude = y
            for r in 0..<m {
                for c in 0..<n {
                    var sum = Double(bias[c]), mag = 0.0
                    for i in 0..<k {
                        let p = Double(x[r * k + i]) * Double(w[c * k + i])
                        sum += p; mag += abs(p)
                    }
                    y[r * n + c] = sum; magnitude[r * n + c] = mag
                }
            }
            return (y, magnitude)
        }
    }

    /// y = x · Wᵀ + b by `multiply` (one of the matrices' `multiply`), on two threads.
    func product(
        _ p: Problem,
        _ multiply: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, WorkerPool) -> Void
    ) -> [Float] {
        var y = [Float](repeating: .nan, count: p.m * p.n)
        p.x.withUnsafeBufferPointer { x in
            p.bias.withUnsafeBufferPointer { b in
                y.withUnsafeMutableBufferPointer { out in
                    multiply(x.baseAddress!, b.baseAddress!, out.baseAddress!, WorkerPool(extraThreads: 1))
                }
            }
        }
        return y
    }

    func int8Product(_ p: Problem, kernel: Int8Kernel) -> [Float] {
        let matrix = QuantizedMatrix(linearWeight: p.w, out: p.n, in: p.k)
        return product(p) { matrix.multiply($0, rows: p.m, bias: $1, into: $2, pool: $3, kernel: kernel) }
    }

    func bf16Product(_ p: Problem, kernel: BFloat16Kernel) -> [Float] {
        let matrix = BFloat16Matrix(linearWeight: p.w, out: p.n, in: p.k)
        return product(p) { matrix.multiply($0, rows: p.m, bias: $1, into: $2, pool: $3, kernel: kernel) }
    }

    @Test(arguments: shapes.indices)
    func everyInt8KernelGivesTheSameBits(_ index: Int) {
        let s = Self.shapes[index]
        let p = Problem(m: s.m, k: s.k, n: s.n, seed: UInt64(index + 1))
        let portable = int8Product(p, kernel: .portable)
        for kernel in Int8Kernel.allCases where kernel != .portable && kernel.isSupported {
            let y = int8Product(p, kernel: kernel)
            let differing = zip(y, portable).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "\(kernel) differs from the portable kernel in \(differing) of \(y.count) elements at \(s)")
        }
    }

    /// The per-row activation codes follow their documented rule exactly — the range is the row's
    /// with 0 in it, NaN skipped — whatever the row's length (the C scan keeps eight lanes).
    @Test(arguments: [1, 7, 8, 9, 384, 1001])
    func activationsQuantizeByTheirRule(_ k: Int) {
        let rows = 3
        var x = Problem(m: rows, k: k, n: 1, seed: UInt64(k)).x
        x[k / 2] = .nan // row 0: skipped by the range, code clamped like any value
        x[k + k - 1] = -40 // row 1: its minimum in the tail, past the last full lane of eight
        for i in (2 * k)..<(3 * k) { x[i] = abs(x[i]) } // row 2: positive only, so the range starts at 0
        let ld = Int(ek_i8_padded_k(k))
        var codes = [UInt8](repeating: 7, count: rows * ld), scales = [Float](repeating: 0, count: rows)
        var zeros = [Int32](repeating: -1, count: rows)
        ek_i8_quantize_rows(x, rows, k, k, &codes, ld, &scales, &zeros)
        for r in 0..<rows {
            let row = x[(r * k)..<((r + 1) * k)]
            var low: Float = 0, high: Float = 0
            for v in row where !v.isNaN { low = Swift.min(low, v); high = Swift.max(high, v) }
            let scale = high > low ? (high - low) / 255 : 1
            let inverse = 1 / scale
            let zero = Swift.min(255, Swift.max(0, (-low * inverse).rounded(.toNearestOrEven)))
            #expect(scales[r] == scale && zeros[r] == Int32(zero), "row \(r) of k = \(k)")
            for (i, v) in row.enumerated() {
                let q = (v * inverse).rounded(.toNearestOrEven) + zero
                let expected = v.isNaN ? nil : UInt8(Swift.min(255, Swift.max(0, q)))
                if let expected { #expect(codes[r * ld + i] == expected, "row \(r), element \(i) of k = \(k)") }
            }
            for i in k..<ld { #expect(codes[r * ld + i] == UInt8(zero), "row \(r): padding is the zero point") }
        }
    }

    @Test(arguments: shapes.indices)
    func int8ProductIsWithinItsQuantizationBound(_ index: Int) {
        let s = Self.shapes[index]
        let p = Problem(m: s.m, k: s.k, n: s.n, seed: UInt64(index + 11))
        let y = int8Product(p, kernel: .selected)
        let (exact, _) = p.reference()
        for r in 0..<p.m {
            let row = p.x[(r * p.k)..<((r + 1) * p.k)]
            // Each activation is off by at most half its row's step, each weight by half its column's.
            let low = min(0, row.min()!), high = max(0, row.max()!)
            let xStep = Double(high - low) / 255
            for c in 0..<p.n {
                let weights = p.w[(c * p.k)..<((c + 1) * p.k)]
                let wStep = Double(weights.map { abs($0) }.max()!) / 127
                var bound = 0.0
                for (xi, wi) in zip(row, weights) {
                    bound += abs(Double(xi)) * wStep / 2 + abs(Double(wi)) * xStep / 2 + xStep * wStep / 4
                }
                let error = abs(Double(y[r * p.n + c]) - exact[r * p.n + c])
                #expect(error <= bound * 1.001 + 1e-5, "element (\(r), \(c)) of \(s): error \(error) > bound \(bound)")
                if error > bound * 1.001 + 1e-5 { return }
            }
        }
    }

    @Test(arguments: shapes.indices)
    func bf16ProductIsWithinItsRoundingBoundOnEveryKernel(_ index: Int) {
        let s = Self.shapes[index]
        let p = Problem(m: s.m, k: s.k, n: s.n, seed: UInt64(index + 21))
        let (exact, magnitude) = p.reference()
        for kernel in BFloat16Kernel.allCases where kernel.isSupported {
            let y = bf16Product(p, kernel: kernel)
            // Both operands rounded to 8 significant bits (relative error ≤ 2⁻⁹ each), float32 sums.
            var worst = 0.0
            for i in y.indices { worst = max(worst, abs(Double(y[i]) - exact[i]) / (magnitude[i] + 1e-30)) }
            #expect(worst <= 2 * 0.001_953_125 + 1e-5, "\(kernel) at \(s): relative error \(worst)")
        }
    }

    @Test(arguments: shapes.indices)
    func theAVX512Float32KernelEqualsThePortableOneUpToRounding(_ index: Int) {
        guard ek_f32_avx512() != 0 else { return } // the Swift kernel is the only one here
        let s = Self.shapes[index]
        let p = Problem(m: s.m, k: s.k, n: s.n, seed: UInt64(index + 31))
        let tiled = TiledFloatMatrix(linearWeight: p.w, out: p.n, in: p.k)
        let packed = PackedMatrix(linearWeight: p.w, out: p.n, in: p.k)
        let a = product(p) { tiled.multiply($0, rows: p.m, bias: $1, into: $2, pool: $3) }
        let b = product(p) { x, bias, y, _ in
            PackedGemm.multiply(m: p.m, a: x, lda: p.k, b: packed, bias: bias, c: y, ldc: p.n)
        }
        let (exact, magnitude) = p.reference()
        for i in a.indices {
            // Both float32 sums of the same products, in other orders: within k ulps of Σ|x||w|.
            let tolerance = Double(p.k) * 1.2e-7 * magnitude[i] + 1e-6
            #expect(abs(Double(a[i]) - exact[i]) <= tolerance && abs(Double(b[i]) - exact[i]) <= tolerance)
            if abs(Double(a[i]) - exact[i]) > tolerance { return }
        }
    }

    /// Every row count a block of the vector kernels splits into (1…6, and past one block), on a
    /// width that ends mid-tile.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 9, 13])
    func bf16VectorAndPortableKernelsAgree(_ rows: Int) throws {
        let p = Problem(m: rows, k: 768, n: 200, seed: UInt64(99 + rows))
        let portable = bf16Product(p, kernel: .portable)
        let (_, magnitude) = p.reference()
        let vector = BFloat16Kernel.allCases.filter { $0 != .portable && $0.isSupported }
        for kernel in vector {
            let y = bf16Product(p, kernel: kernel)
            for i in y.indices {
                // Same bf16 operands; only the order of the float32 sums differs.
                #expect(abs(y[i] - portable[i]) <= Float(magnitude[i]) * 1e-5 + 1e-6, "\(kernel), element \(i)")
                if abs(y[i] - portable[i]) > Float(magnitude[i]) * 1e-5 + 1e-6 { return }
            }
        }
    }

    @Test func kernelSelectionFollowsTheAllowedFeatures() {
        #expect(Int8Kernel.best(allowing: []) == .portable)
        #expect(Int8Kernel.best(allowing: ["none"]) == .portable)
        #expect(Int8Kernel.best(allowing: ["avx2"]) == (Int8Kernel.avx2.isSupported ? .avx2 : .portable))
        #expect(Int8Kernel.best(allowing: nil) == Int8Kernel.allCases.first { $0.isSupported })
        #expect(BFloat16Kernel.best(allowing: []) == .portable)
        #expect(BFloat16Kernel.best(allowing: ["avx2"]) == (BFloat16Kernel.avx2.isSupported ? .avx2 : .portable))
        #expect(BFloat16Kernel.best(allowing: ["avx512"]) == (BFloat16Kernel.avx512bf16.isSupported ? .avx512bf16 : .portable))
        #expect(BFloat16Kernel.best(allowing: nil) == BFloat16Kernel.allCases.first { $0.isSupported })
        #expect(Float32PanelKernel.best(allowing: ["none"]) == .portable)
        #expect(Float32PanelKernel.best(allowing: ["avx2"]) == (Float32PanelKernel.avx2.isSupported ? .avx2 : .portable))
        #expect(Float32PanelKernel.best(allowing: nil) == Float32PanelKernel.allCases.first { $0.isSupported })
        #expect(CPUFeatureRestriction.allowed("AVX2, avx512vnni") == ["avx2", "avx512vnni"])
    }

    @Test func autoPrecisionIsBF16ExactlyWhereTheCPUHasIt() {
        #expect(EmbeddingPrecision.auto.resolved == (BFloat16Kernel.selected == .avx512bf16 ? .bf16 : .fp32))
        for p in [EmbeddingPrecision.fp32, .bf16, .int8] { #expect(p.resolved == p) }
    }
}
