import CKernels

/// A weight matrix `[K × N]` (a linear layer's `Wᵀ`) repacked once, at load time, into the panel
/// layout of ``PackedGemm``.
///
/// Why not OpenBLAS for these products: `cblas_sgemm` packs both operands on every call, which for
/// the few rows of a single text (M ≈ 10–30) costs a large part of the time, and OpenBLAS has no
/// packed-weight API (`episodic-bench gemm` compares the two).
final class PackedMatrix: @unchecked Sendable {
    let rows: Int // K
    let columns: Int // N
    let data: UnsafeMutablePointer<Float>

    var panels: Int { PackedGemm.panelCount(columns) }

    /// Packs the row-major `[out × in]` weight of a linear layer (PyTorch's layout), i.e. `Wᵀ`
    /// with K = in, N = out.
    init(linearWeight w: [Float], out: Int, in k: Int) {
        precondition(w.count == out * k)
        rows = k
        columns = out
        let count = max(1, PackedGemm.packedCount(k: k, n: out))
        data = .allocate(capacity: count)
        w.withUnsafeBufferPointer { source in
            PackedGemm.pack(source.baseAddress!, k: k, n: out, rowStride: 1, columnStride: k, into: data)
        }
    }

    deinit { data.deallocate() }
}

/// C = A · B (+ bias) for a packed B: float32 linear layers on CPUs without AVX-512, and the
/// attention products everywhere, on the C kernel of `fp32panel.c` (``Float32PanelKernel``).
///
/// Packed layout: B's columns in panels of 16, each panel stored k-major (`panel × K × 16`), the
/// last panel zero-padded, so that the kernel streams a panel contiguously.
enum PackedGemm {
    static let panelWidth = 16

    static func panelCount(_ n: Int) -> Int { ek_f32p_panels(n) }
    static func packedCount(k: Int, n: Int) -> Int { ek_f32p_packed_count(k, n) }

    /// Packs B[k × n], element (i, j) at `source[i * rowStride + j * columnStride]`.
    static func pack(
        _ source: UnsafePointer<Float>, k: Int, n: Int, rowStride: Int, columnStride: Int,
        into packed: UnsafeMutablePointer<Float>
    ) {
        ek_f32p_pack(source, k, n, rowStride, columnStride, packed)
    }

    static func multiply(
        m: Int, a: UnsafePointer<Float>, lda: Int, b: PackedMatrix, bias: UnsafePointer<Float>?,
        c: UnsafeMutablePointer<Float>, ldc: Int, panels: Range<Int>? = nil, kernel: Float32PanelKernel = .selected
    ) {
        multiply(
            m: m, a: a, lda: lda, packed: b.data, k: b.rows, n: b.columns, bias: bias, c: c, ldc: ldc, panels: panels,
            kernel: kernel)
    }

    /// C[m × N] = A[m × K] · B + bias, rows of A `lda` apart and rows of C `ldc` apart.
    /// `panels` restricts the work to a range of 16-column panels (for splitting across threads).
    static func multiply(
        m: Int, a: UnsafePointer<Float>, lda: Int, packed b: UnsafePointer<Float>, k: Int, n: Int,
        bias: UnsafePointer<Float>?, c: UnsafeMutablePointer<Float>, ldc: Int, panels: Range<Int>? = nil,
        kernel: Float32PanelKernel = .selected
    ) {
        let panels = panels ?? 0..<panelCount(n)
        ek_f32p_gemm(kernel.code, m, a, lda, b, k, n, bias, c, ldc, panels.lowerBound, panels.upperBound)
    }
}
