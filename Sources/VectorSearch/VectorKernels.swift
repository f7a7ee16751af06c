import CKernels

/// Float32 and int8 vector arithmetic for the search index.
public enum VectorKernels {
    typealias V8 = SIMD8<Float>

    /// The inner product of two `count`-float vectors, with a fixed summation order (four 8-lane
    /// accumulators, then a tail): every caller — index, rescoring, tests' brute force — gets the
    /// same float for the same inputs.
    @inlinable
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= count {
            s0 = s0.addingProduct(load(a + i), load(b + i))
            s1 = s1.addingProduct(load(a + i + 8), load(b + i + 8))
            s2 = s2.addingProduct(load(a + i + 16), load(b + i + 16))
            s3 = s3.addingProduct(load(a + i + 24), load(b + i + 24))
            i += 32
        }
        while i + 8 <= count {
            s0 = s0.addingProduct(load(a + i), load(b + i))
            i += 8
        }
        var total = ((s0 + s1) + (s2 + s3)).sum()
        while i < count {
            total += a[i] * b[i]
            i += 1
        }
        return total
    }

    /// The inner product of two arrays of equal length.
    public static func dot(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "dot of vectors of different lengths")
        return a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in dot(pa.baseAddress!, pb.baseAddress!, count: a.count) } }
    }

    @inlinable @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }

    /// A vector quantized to int8 with one scale: `x ≈ scale · codes`.
    struct Quantized {
        var scale: Float
        /// ‖x − scale · codes‖₂, the part of x the codes lose.
        var residualNorm: Float
        /// ‖scale · codes‖₂.
        var codeNorm: Float
    }

    /// Quantizes `x` (symmetric, per vector, codes in [−127, 127]) into `codes`.
    static func quantize(_ x: UnsafePointer<Float>, count: Int, into codes: UnsafeMutablePointer<Int8>) -> Quantized {
        var residual = 0.0, norm = 0.0
        let scale = ek_quantize_i8(x, count, codes, &residual, &norm)
        // The norms feed error bounds: round them up past float rounding.
        let up = 1 + 1e-6
        return Quantized(scale: scale, residualNorm: Float(residual.squareRoot() * up), codeNorm: Float(norm.squareRoot() * up))
    }
}
