import CKernels

/// A weight matrix `[K × N]` (a linear layer's `Wᵀ`) repacked once, at load time, into the panel
/// layout of ``PackedGemm``.
///
/// Why not OpenBLAS for these products: `cblas_sgemm` packs both operands on every call. For the
/// few rows of a single text (M ≈ 30) that packing and OpenBLAS's blocking for large M cost a third
/// of the time: measured here at M = 30, K = 384, N = 1536, OpenBLAS reaches 50–62 GFLOP/s and
/// this kernel 81–85 (at M = 240: 86 vs 93). OpenBLAS has no packed-weight API.
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

/// C = A · B (+ bias) for a packed B, with register-blocked micro-kernels of 6 and 4 rows by 16
/// columns (12 and 8 accumulators of 8 lanes: enough independent FMAs to hide their latency).
///
/// Packed layout: B's columns in panels of 16, each panel stored k-major (`panel × K × 16`), the
/// last panel zero-padded, so that the kernel streams a panel contiguously.
enum PackedGemm {
    typealias V8 = SIMD8<Float>
    static let panelWidth = 16

    static func panelCount(_ n: Int) -> Int { (n + panelWidth - 1) / panelWidth }
    static func packedCount(k: Int, n: Int) -> Int { panelCount(n) * k * panelWidth }

    /// Packs B[k × n], element (i, j) at `source[i * rowStride + j * columnStride]`.
    static func pack(
        _ source: UnsafePointer<Float>, k: Int, n: Int, rowStride: Int, columnStride: Int,
        into packed: UnsafeMutablePointer<Float>
    ) {
        for panel in 0..<panelCount(n) {
            let out = packed + panel * k * panelWidth
            let first = panel * panelWidth
            let width = min(panelWidth, n - first)
            for i in 0..<k {
                let row = out + i * panelWidth
                let src = source + i * rowStride + first * columnStride
                for j in 0..<width { row[j] = src[j * columnStride] }
                for j in width..<panelWidth { row[j] = 0 }
            }
        }
    }

    static func multiply(
        m: Int, a: UnsafePointer<Float>, lda: Int, b: PackedMatrix, bias: UnsafePointer<Float>?,
        c: UnsafeMutablePointer<Float>, ldc: Int, panels: Range<Int>? = nil
    ) {
        multiply(m: m, a: a, lda: lda, packed: b.data, k: b.rows, n: b.columns, bias: bias, c: c, ldc: ldc, panels: panels)
    }

    /// Rows of A kept in L2 while every panel of B streams past them: without this blocking a
    /// batch of ~1000 tokens re-read all of A from L3 once per 16-column panel.
    static let l2Budget = 384 * 1024

    /// C[m × N] = A[m × K] · B + bias, rows of A `lda` apart and rows of C `ldc` apart.
    /// `panels` restricts the work to a range of 16-column panels (for splitting across threads).
    static func multiply(
        m: Int, a: UnsafePointer<Float>, lda: Int, packed b: UnsafePointer<Float>, k: Int, n: Int,
        bias: UnsafePointer<Float>?, c: UnsafeMutablePointer<Float>, ldc: Int, panels: Range<Int>? = nil
    ) {
        let blockRows = max(6, l2Budget / max(1, k * MemoryLayout<Float>.size) / 6 * 6)
        var blockStart = 0
        while blockStart < m {
            let blockEnd = min(m, blockStart + blockRows)
            for panel in panels ?? 0..<panelCount(n) {
                multiplyPanel(panel, rows: blockStart..<blockEnd, a: a, lda: lda, b: b, k: k, n: n, bias: bias, c: c, ldc: ldc)
            }
            blockStart = blockEnd
        }
    }

    private static func multiplyPanel(
        _ panel: Int, rows: Range<Int>, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, k: Int, n: Int,
        bias: UnsafePointer<Float>?, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let bp = b + panel * k * panelWidth
        let column = panel * panelWidth
        let width = min(panelWidth, n - column)
        var bias0 = V8(), bias1 = V8()
        if let bias {
            if width == 16 {
                bias0 = load(bias + column); bias1 = load(bias + column + 8)
            } else {
                for j in 0..<width { if j < 8 { bias0[j] = bias[column + j] } else { bias1[j - 8] = bias[column + j] } }
            }
        }
        // Sixes, then fours; 7 and 8 leftover rows become 4 + 3 and 4 + 4, not 6 + 1 and 6 + 2.
        func step(_ rest: Int) -> Int { rest >= 6 && rest != 7 && rest != 8 ? 6 : (rest >= 4 ? 4 : rest) }
        // The panel after next is prefetched during this one's passes, each pass its own share of
        // its lines spread over its k steps: with the whole panel fetched in the first pass, the
        // memory bus idled during the later passes (which read this panel from L2) and few-row
        // products ran at ~11 GB/s of weights.
        var passes = 0
        var row = rows.lowerBound
        while row < rows.upperBound { let s = step(rows.upperBound - row); if s >= 4 { passes += 1 }; row += s }
        let share = passes > 0 ? (k + passes - 1) / passes : 0
        var pass = 0
        row = rows.lowerBound
        while row < rows.upperBound {
            let step = step(rows.upperBound - row)
            let aRow = a + row * lda
            let prefetch = Prefetch(
                start: bp + 2 * k * panelWidth + min(pass * share, k) * panelWidth,
                lines: max(0, min(share, k - pass * share)), every: max(1, passes))
            if step >= 4 { pass += 1 }
            if width == 16 {
                kernel(step, k, aRow, lda, bp, bias0, bias1, c + row * ldc + column, ldc, prefetch)
            } else {
                // Edge panel: compute 16 columns into scratch, keep the valid ones.
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 6 * 16) { scratch in
                    kernel(step, k, aRow, lda, bp, bias0, bias1, scratch.baseAddress!, 16, prefetch)
                    for r in 0..<step { for j in 0..<width { c[(row + r) * ldc + column + j] = scratch[r * 16 + j] } }
                }
            }
            row += step
        }
    }

    /// Lines (`panelWidth` floats each) a kernel pass prefetches: `lines` from `start`, one every
    /// `every` k steps.
    struct Prefetch {
        var start: UnsafePointer<Float>
        var lines: Int
        var every: Int
        private var countdown = 0

        init(start: UnsafePointer<Float>, lines: Int, every: Int) {
            self.start = start; self.lines = lines; self.every = every
        }

        /// Called once per k step: prefetches the next line when its turn comes.
        @inline(__always) mutating func step() {
            if countdown == 0 && lines > 0 { ek_prefetch(start); start += panelWidth; lines -= 1; countdown = every }
            countdown -= 1
        }
    }

    @inline(__always)
    private static func kernel(
        _ rows: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>,
        _ bias0: V8, _ bias1: V8, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ prefetch: Prefetch
    ) {
        switch rows {
        case 6: kernel6(k, a, lda, b, bias0, bias1, c, ldc, prefetch)
        case 4: kernel4(k, a, lda, b, bias0, bias1, c, ldc, prefetch)
        default: kernelSmall(rows, k, a, lda, b, bias0, bias1, c, ldc)
        }
    }

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V8 { UnsafeRawPointer(p).loadUnaligned(as: V8.self) }
    @inline(__always) static func store(_ v: V8, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V8.self)
    }

    @inline(never)
    static func kernel6(
        _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>,
        _ bias0: V8, _ bias1: V8, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ prefetch: Prefetch
    ) {
        var c00 = bias0, c01 = bias1, c10 = bias0, c11 = bias1, c20 = bias0, c21 = bias1
        var c30 = bias0, c31 = bias1, c40 = bias0, c41 = bias1, c50 = bias0, c51 = bias1
        let a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda, a4 = a + 4 * lda, a5 = a + 5 * lda
        var bp = b
        // Panels are contiguous: fetch (a share of) the panel after next, 16 floats = 64 B a line;
        // one panel ahead left the first pass over each panel waiting on memory (measured 67–80
        // vs 84–86 GFLOP/s at 32 × 1536 × 384 with weights evicted from cache).
        var prefetch = prefetch
        for kk in 0..<k {
            prefetch.step()
            let b0 = load(bp), b1 = load(bp + 8)
            bp += 16
            var x = V8(repeating: a0[kk]); c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
            x = V8(repeating: a1[kk]); c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
            x = V8(repeating: a2[kk]); c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
            x = V8(repeating: a3[kk]); c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
            x = V8(repeating: a4[kk]); c40 = c40.addingProduct(x, b0); c41 = c41.addingProduct(x, b1)
            x = V8(repeating: a5[kk]); c50 = c50.addingProduct(x, b0); c51 = c51.addingProduct(x, b1)
        }
        var out = c
        store(c00, out); store(c01, out + 8); out += ldc
        store(c10, out); store(c11, out + 8); out += ldc
        store(c20, out); store(c21, out + 8); out += ldc
        store(c30, out); store(c31, out + 8); out += ldc
        store(c40, out); store(c41, out + 8); out += ldc
        store(c50, out); store(c51, out + 8)
    }

    @inline(never)
    static func kernel4(
        _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>,
        _ bias0: V8, _ bias1: V8, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ prefetch: Prefetch
    ) {
        var c00 = bias0, c01 = bias1, c10 = bias0, c11 = bias1
        var c20 = bias0, c21 = bias1, c30 = bias0, c31 = bias1
        let a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda
        var bp = b
        var prefetch = prefetch
        for kk in 0..<k {
            prefetch.step()
            let b0 = load(bp), b1 = load(bp + 8)
            bp += 16
            var x = V8(repeating: a0[kk]); c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
            x = V8(repeating: a1[kk]); c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
            x = V8(repeating: a2[kk]); c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
            x = V8(repeating: a3[kk]); c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
        }
        var out = c
        store(c00, out); store(c01, out + 8); out += ldc
        store(c10, out); store(c11, out + 8); out += ldc
        store(c20, out); store(c21, out + 8); out += ldc
        store(c30, out); store(c31, out + 8)
    }

    /// One to three rows (the tail of M). Few rows give few independent accumulators, so each row
    /// keeps separate sums for even and odd k (8 chains for 2 rows, 8 for 1 row with 4 parities)
    /// to hide the FMA latency; three rows run as two plus one.
    @inline(never)
    static func kernelSmall(
        _ rows: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>,
        _ bias0: V8, _ bias1: V8, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        var row = 0
        if rows >= 2 {
            kernel2(k, a, lda, b, bias0, bias1, c, ldc)
            row = 2
        }
        if row < rows { kernel1(k, a + row * lda, b, bias0, bias1, c + row * ldc) }
    }

    @inline(__always)
    static func kernel2(
        _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>,
        _ bias0: V8, _ bias1: V8, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        var c00 = bias0, c01 = bias1, c10 = bias0, c11 = bias1
        var d00 = V8(), d01 = V8(), d10 = V8(), d11 = V8()
        let a0 = a, a1 = a + lda
        var bp = b
        var kk = 0
        while kk + 1 < k {
            let b0 = load(bp), b1 = load(bp + 8), e0 = load(bp + 16), e1 = load(bp + 24)
            bp += 32
            var x = V8(repeating: a0[kk]); c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
            x = V8(repeating: a1[kk]); c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
            x = V8(repeating: a0[kk + 1]); d00 = d00.addingProduct(x, e0); d01 = d01.addingProduct(x, e1)
            x = V8(repeating: a1[kk + 1]); d10 = d10.addingProduct(x, e0); d11 = d11.addingProduct(x, e1)
            kk += 2
        }
        if kk < k {
            let b0 = load(bp), b1 = load(bp + 8)
            var x = V8(repeating: a0[kk]); c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
            x = V8(repeating: a1[kk]); c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
        }
        store(c00 + d00, c); store(c01 + d01, c + 8)
        store(c10 + d10, c + ldc); store(c11 + d11, c + ldc + 8)
    }

    @inline(__always)
    static func kernel1(
        _ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
        _ bias0: V8, _ bias1: V8, _ c: UnsafeMutablePointer<Float>
    ) {
        var s0 = bias0, s1 = bias1, t0 = V8(), t1 = V8(), u0 = V8(), u1 = V8(), v0 = V8(), v1 = V8()
        var bp = b
        var kk = 0
        while kk + 3 < k {
            var x = V8(repeating: a[kk]); s0 = s0.addingProduct(x, load(bp)); s1 = s1.addingProduct(x, load(bp + 8))
            x = V8(repeating: a[kk + 1]); t0 = t0.addingProduct(x, load(bp + 16)); t1 = t1.addingProduct(x, load(bp + 24))
            x = V8(repeating: a[kk + 2]); u0 = u0.addingProduct(x, load(bp + 32)); u1 = u1.addingProduct(x, load(bp + 40))
            x = V8(repeating: a[kk + 3]); v0 = v0.addingProduct(x, load(bp + 48)); v1 = v1.addingProduct(x, load(bp + 56))
            bp += 64
            kk += 4
        }
        while kk < k {
            let x = V8(repeating: a[kk]); s0 = s0.addingProduct(x, load(bp)); s1 = s1.addingProduct(x, load(bp + 8))
            bp += 16
            kk += 1
        }
        store((s0 + t0) + (u0 + v0), c); store((s1 + t1) + (u1 + v1), c + 8)
    }
}
