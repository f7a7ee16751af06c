import CKernels
import CPUFeatures

/// A linear layer's float32 weight `[out × in]` packed in tiles of 64 columns for the AVX-512
/// kernel `ek_f32_gemm` (six rows × 64 columns per step: a quarter of the loads per multiply-add of
/// ``PackedGemm``'s 6 × 16 on 256-bit vectors). Used only on CPUs with AVX-512F.
final class TiledFloatMatrix: @unchecked Sendable {
    let inFeatures: Int // K
    let outFeatures: Int // N
    let packed: UnsafeMutablePointer<Float>

    var tiles: Int { ek_f32_tiles(outFeatures) }

    /// Whether this process uses it: AVX-512F present and not excluded by `EPISODIC_CPU_FEATURES`.
    static let isAvailable = ek_f32_avx512() != 0 && CPUFeatureRestriction.allows("avx512f", in: CPUFeatureRestriction.current)

    init(linearWeight w: [Float], out: Int, in k: Int) {
        precondition(w.count == out * k)
        inFeatures = k
        outFeatures = out
        packed = .allocate(capacity: max(1, ek_f32_packed_count(k, out)))
        w.withUnsafeBufferPointer { ek_f32_pack_weights($0.baseAddress!, out, k, packed) }
    }

    deinit { packed.deallocate() }

    /// y[rows × out] = x · W + bias, then GELU if `gelu`; tiles split over `pool`'s threads.
    func multiply(
        _ x: UnsafePointer<Float>, rows: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, pool: WorkerPool,
        gelu: Bool = false
    ) {
        let tiles = self.tiles, k = inFeatures, n = outFeatures
        let w = UnsafePointer(packed)
        let workers = min(pool.extraThreads + 1, tiles)
        if workers > 1 && rows * k * n >= 1 << 20 {
            pool.parallelRanges(tiles) { range in
                ek_f32_gemm(rows, x, k, w, k, n, bias, y, n, range.lowerBound, range.upperBound)
                if gelu { RowKernels.gelu(y, rows: rows, stride: n, columns: TiledColumns.of(range, n)) }
            }
        } else {
            ek_f32_gemm(rows, x, k, w, k, n, bias, y, n, 0, tiles)
            if gelu { ek_gelu(y, rows * n) }
        }
    }
}
