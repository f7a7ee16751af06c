import CKernels

/// A linear layer's weight `[out × in]` quantized at load to int8 per output channel (symmetric,
/// max |w| / 127) and packed in 64-column tiles for `ek_i8_gemm`; a quarter of the float32 bytes.
final class QuantizedMatrix: @unchecked Sendable {
    let inFeatures: Int // K
    let outFeatures: Int // N
    let packed: UnsafeMutablePointer<Int8>
    let scales: UnsafeMutablePointer<Float>
    let columnSums: UnsafeMutablePointer<Int32>

    var tiles: Int { ek_i8_tiles(outFeatures) }
    /// Bytes of one quantized activation row.
    var rowBytes: Int { ek_i8_padded_k(inFeatures) }

    init(linearWeight w: [Float], out: Int, in k: Int) {
        precondition(w.count == out * k)
        inFeatures = k
        outFeatures = out
        packed = .allocate(capacity: max(1, ek_i8_packed_bytes(k, out)))
        let columns = max(1, ek_i8_tiles(out) * 64)
        scales = .allocate(capacity: columns)
        columnSums = .allocate(capacity: columns)
        w.withUnsafeBufferPointer { ek_i8_pack_weights($0.baseAddress!, out, k, packed, scales, columnSums) }
    }

    deinit {
        packed.deallocate()
        scales.deallocate()
        columnSums.deallocate()
    }

    /// y[rows × out] = dequant(quantize(x) · W) + bias, rows of x `inFeatures` apart, of y
    /// `outFeatures` apart, then GELU if `gelu`; tiles split over `pool`'s threads.
    func multiply(
        _ x: UnsafePointer<Float>, rows: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
        pool: WorkerPool, gelu: Bool = false, kernel: Int8Kernel = .selected
    ) {
        let ld = rowBytes
        let codes = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, rows * ld))
        let rowScales = UnsafeMutablePointer<Float>.allocate(capacity: max(1, rows))
        let zeros = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, rows))
        defer { codes.deallocate(); rowScales.deallocate(); zeros.deallocate() }
        let k = inFeatures
        pool.parallelRows(rows) { r in
            let first = r.lowerBound
            ek_i8_quantize_rows(x + first * k, r.count, k, k, codes + first * ld, ld, rowScales + first, zeros + first)
        }
        let tiles = self.tiles, n = outFeatures, path = kernel.code
        let (packed, scales, sums) = (UnsafePointer(self.packed), UnsafePointer(self.scales), UnsafePointer(columnSums))
        let (a, sa, za) = (UnsafePointer(codes), UnsafePointer(rowScales), UnsafePointer(zeros))
        let workers = min(pool.extraThreads + 1, tiles)
        // Splitting pays only above ~1 M multiply-adds (as for the float kernel).
        if workers > 1 && rows * k * n >= 1 << 20 {
            pool.parallelRanges(tiles) { range in
                ek_i8_gemm(path, rows, a, ld, sa, za, packed, k, n, scales, sums, bias, y, n, range.lowerBound, range.upperBound)
                if gelu { RowKernels.gelu(y, rows: rows, stride: n, columns: TiledColumns.of(range, n)) }
            }
        } else {
            ek_i8_gemm(path, rows, a, ld, sa, za, packed, k, n, scales, sums, bias, y, n, 0, tiles)
            if gelu { ek_gelu(y, rows * n) }
        }
    }
}
