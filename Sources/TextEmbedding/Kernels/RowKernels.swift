import CKernels

/// Row-wise kernels of the transformer on row-major float matrices that have no transcendental
/// functions (those are in the C target `CKernels`), vectorized 8 lanes at a time.
enum RowKernels {
    typealias Vec = SIMD8<Float>

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ count: Int, fill: Float) -> Vec {
        if count >= Vec.scalarCount { return UnsafeRawPointer(p).loadUnaligned(as: Vec.self) }
        var v = Vec(repeating: fill)
        for i in 0..<count { v[i] = p[i] }
        return v
    }

    @inline(__always)
    static func store(_ v: Vec, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
        if count >= Vec.scalarCount { UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vec.self); return }
        for i in 0..<count { p[i] = v[i] }
    }

    /// GELU of columns `columns` of every row of y (rows `stride` apart): the epilogue of one
    /// thread's tiles of the feed-forward's first product, applied while they are in cache.
    static func gelu(_ y: UnsafeMutablePointer<Float>, rows: Int, stride: Int, columns: Range<Int>) {
        guard !columns.isEmpty else { return }
        for r in 0..<rows { ek_gelu(y + r * stride + columns.lowerBound, columns.count) }
    }

    /// y[r, :] += bias for every row.
    static func addBias(_ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, bias: UnsafePointer<Float>) {
        for r in 0..<rows {
            let row = y + r * cols
            var c = 0
            while c < cols {
                let n = cols - c
                store(load(row + c, n, fill: 0) + load(bias + c, n, fill: 0), row + c, n)
                c += Vec.scalarCount
            }
        }
    }

    /// x = LayerNorm(x + y) · gamma + beta, row by row (the "add & norm" of a sublayer);
    /// `y` may be nil (plain LayerNorm of x).
    static func addLayerNorm(
        _ x: UnsafeMutablePointer<Float>, adding y: UnsafePointer<Float>?,
        rows: Int, cols: Int, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, eps: Float
    ) {
        let invCols = 1 / Float(cols)
        for r in 0..<rows {
            let row = x + r * cols
            var sum = Vec()
            var c = 0
            while c < cols {
                let n = cols - c
                var v = load(row + c, n, fill: 0)
                if let y { v += load(y + r * cols + c, n, fill: 0) }
                store(v, row + c, n)
                sum += v
                c += Vec.scalarCount
            }
            let mean = sum.sum() * invCols
            var squares = Vec()
            c = 0
            while c < cols {
                let n = cols - c
                let d = load(row + c, n, fill: mean) - mean
                // Not `addingProduct`: without FMA in the target (a baseline build) that is a libm
                // `fmaf` call per lane.
                squares += d * d
                c += Vec.scalarCount
            }
            let inv = 1 / (squares.sum() * invCols + eps).squareRoot()
            c = 0
            while c < cols {
                let n = cols - c
                let v = (load(row + c, n, fill: 0) - mean) * inv
                store(v * load(gamma + c, n, fill: 0) + load(beta + c, n, fill: 0), row + c, n)
                c += Vec.scalarCount
            }
        }
    }
}

/// The output columns of a range of 64-column weight tiles (the layout of the bf16, int8 and
/// float32 AVX-512 kernels), clipped to the layer's width.
enum TiledColumns {
    static let width = 64

    static func of(_ tiles: Range<Int>, _ columns: Int) -> Range<Int> {
        min(columns, tiles.lowerBound * width)..<min(columns, tiles.upperBound * width)
    }
}
