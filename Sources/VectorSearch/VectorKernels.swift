import CKernels

/// Float32 and int8 vector arithmetic for the search index.
public enum VectorKernels {
    /// The kernel path of ``dot(_:_:count:)`` and the candidate scan in this process
    /// (``SearchKernel/selected``).
    static let path: Int32 = SearchKernel.selected.code

    /// The inner product of two `count`-float vectors, with a fixed summation order (four 8-lane
    /// accumulators, the lanes in pairs, then a tail) on one kernel path per process: every caller —
    /// index, rescoring, tests' brute force — gets the same float for the same inputs.
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        ek_dot_f32(path, a, b, count)
    }

    /// The inner product of two arrays of equal length.
    public static func dot(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "dot of vectors of different lengths")
        return a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in dot(pa.baseAddress!, pb.baseAddress!, count: a.count) } }
    }

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
