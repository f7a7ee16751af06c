import CBLAS

/// Matrix products on OpenBLAS. All matrices are row-major.
enum Gemm {
    /// C[m×n] = alpha · A[m×k] · B[n×k]ᵀ + beta · C — the shape of a linear layer whose weight is
    /// stored `[out × in]` as PyTorch stores it.
    @inline(__always)
    static func multiplyTransposed(
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blasint(m), blasint(n), blasint(k),
                    alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// C[m×n] = alpha · A[m×k] · B[k×n] + beta · C.
    @inline(__always)
    static func multiply(
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(m), blasint(n), blasint(k),
                    alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }
}

/// OpenBLAS's thread count is a property of the process, not of one model: it is set here, once,
/// by whoever owns the process (the command-line tool or the server), not by the library.
public enum ComputeThreads {
    /// Sets the number of threads OpenBLAS uses for one matrix product.
    public static func set(_ count: Int) { openblas_set_num_threads(Int32(max(1, count))) }
    /// The number of threads OpenBLAS uses for one matrix product.
    public static var current: Int { Int(openblas_get_num_threads()) }
}
