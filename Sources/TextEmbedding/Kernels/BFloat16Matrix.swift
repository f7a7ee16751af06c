import CKernels

/// A linear layer's weight `[out × in]` rounded to bfloat16 at load and packed in 64-column tiles
/// for `ek_bf16_gemm`; half the float32 bytes, float32's range.
final class BFloat16Matrix: @unchecked Sendable {
    let inFeatures: Int // K
    let outFeatures: Int // N
    let packed: UnsafeMutablePointer<UInt16>

    var tiles: Int { ek_bf16_tiles(outFeatures) }
    /// bf16 values of one converted activation row.
    var rowLength: Int { ek_bf16_padded_k(inFeatures) }

    init(linearWeight w: [Float], out: Int, in k: Int) {
        precondition(w.count == out * k)
        inFeatures = k
        outFeatures = out
        packed = .allocate(capacity: max(1, ek_bf16_packed_count(k, out)))
        w.withUnsafeBufferPointer { ek_bf16_pack_weights($0.baseAddress!, out, k, packed) }
    }

    deinit { packed.deallocate() }

    /// y[rows × out] = bf16(x) · W + bias, rows of x `inFeatures` apart, of y `outFeatures` apart,
    /// then GELU if `gelu`; tiles split over `pool`'s threads.
    func multiply(
        _ x: UnsafePointer<Float>, rows: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
        pool: WorkerPool, gelu: Bool = false, kernel: BFloat16Kernel = .selected
    ) {
        let ld = rowLength
        let converted = UnsafeMutablePointer<UInt16>.allocate(capacity: max(1, rows * ld))
        defer { converted.deallocate() }
        let k = inFeatures
        pool.parallelRows(rows) { r in
            ek_bf16_convert_rows(x + r.lowerBound * k, r.count, k, k, converted + r.lowerBound * ld, ld)
        }
        let tiles = self.tiles, n = outFeatures
        let path = kernel.code
        let (a, packed) = (UnsafePointer(converted), UnsafePointer(self.packed))
        let workers = min(pool.extraThreads + 1, tiles)
        if workers > 1 && rows * k * n >= 1 << 20 {
            pool.parallelRanges(tiles) { range in
                ek_bf16_gemm(path, rows, a, ld, packed, k, n, bias, y, n, range.lowerBound, range.upperBound)
                if gelu { RowKernels.gelu(y, rows: rows, stride: n, columns: TiledColumns.of(range, n)) }
            }
        } else {
            ek_bf16_gemm(path, rows, a, ld, packed, k, n, bias, y, n, 0, tiles)
            if gelu { ek_gelu(y, rows * n) }
        }
    }
}
