import CKernels
import Foundation
import TestSupport
import Testing

@testable import TextEmbedding

/// The vectorized exp and erf (C kernels) against the C library, and the row kernels against their
/// definitions.
@Suite struct ElementwiseKernelTests {
    @Test func expRelativeError() {
        let x = stride(from: Float(-80), to: 80, by: 0.0037).map { $0 }
        var y = [Float](repeating: 0, count: x.count)
        ek_exp(x, &y, x.count)
        var worst = 0.0
        for (xi, yi) in zip(x, y) {
            let reference = Foundation.exp(Double(xi))
            worst = max(worst, abs(Double(yi) - reference) / reference)
        }
        #expect(worst < 3e-7, "worst relative error \(worst)")
        // Far below the range: no NaN, no negative values.
        var tiny: [Float] = [0, 0]
        ek_exp([-1000, -.infinity], &tiny, 2)
        #expect(tiny.allSatisfy { $0 >= 0 && $0 < 1e-37 })
    }

    @Test func erfAbsoluteError() {
        let x = stride(from: Float(-8), to: 8, by: 0.0013).map { $0 }
        var y = [Float](repeating: 0, count: x.count)
        ek_erf(x, &y, x.count)
        var worst = 0.0
        for (xi, yi) in zip(x, y) { worst = max(worst, abs(Double(yi) - Foundation.erf(Double(xi)))) }
        #expect(worst < 6e-7, "worst absolute error \(worst)")
    }

    @Test func geluMatchesTheErfDefinition() {
        var x = stride(from: Float(-10), to: 10, by: 0.01).map { $0 }
        let reference = x.map { 0.5 * Double($0) * (1 + Foundation.erf(Double($0) / 2.0.squareRoot())) }
        ek_gelu(&x, x.count)
        for (value, expected) in zip(x, reference) { #expect(abs(Double(value) - expected) < 5e-6) }
    }

    @Test func softmaxRowsSumToOneWithScaleAndBias() {
        // 21 columns: a vector and a tail; leading dimension 24 leaves padding untouched.
        let rows = 3, cols = 21, ld = 24
        var scores = (0..<(rows * ld)).map { Float($0 % 7) - 3 }
        let bias = (0..<(rows * cols)).map { Float($0 % 5) * 0.1 }
        let original = scores
        ek_softmax_rows(&scores, rows, cols, ld, 0.5, bias)
        for r in 0..<rows {
            let logits = (0..<cols).map { Double(original[r * ld + $0]) * 0.5 + Double(bias[r * cols + $0]) }
            let z = logits.map { Foundation.exp($0) }.reduce(0, +)
            for c in 0..<cols {
                #expect(abs(Double(scores[r * ld + c]) - Foundation.exp(logits[c]) / z) < 1e-6)
            }
            for c in cols..<ld { #expect(scores[r * ld + c] == original[r * ld + c]) }
        }
    }

    @Test func layerNormMatchesTheDefinition() {
        let cols = 40
        var x = (0..<cols).map { Float($0) * 0.1 - 1.5 }
        let y = (0..<cols).map { Float($0 % 3) }
        let gamma = (0..<cols).map { 1 + Float($0) / 100 }
        let beta = (0..<cols).map { Float($0) / 1000 }
        let sum = zip(x, y).map { Double($0 + $1) }
        let mean = sum.reduce(0, +) / Double(cols)
        let variance = sum.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(cols)
        x.withUnsafeMutableBufferPointer { xp in
            RowKernels.addLayerNorm(xp.baseAddress!, adding: y, rows: 1, cols: cols, gamma: gamma, beta: beta, eps: 1e-12)
        }
        for k in 0..<cols {
            let expected = (sum[k] - mean) / variance.squareRoot() * Double(gamma[k]) + Double(beta[k])
            #expect(abs(Double(x[k]) - expected) < 1e-5)
        }
    }
}
