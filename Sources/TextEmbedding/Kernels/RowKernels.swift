/// Row-wise kernels of the transformer (bias, GELU, residual + LayerNorm, softmax) on row-major
/// float matrices, vectorized 16 lanes at a time with a partial vector for the tail.
enum RowKernels {
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ count: Int, fill: Float) -> Vec {
        if count >= 16 { return UnsafeRawPointer(p).loadUnaligned(as: Vec.self) }
        var v = Vec(repeating: fill)
        for i in 0..<count { v[i] = p[i] }
        return v
    }

    @inline(__always)
    static func store(_ v: Vec, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
        if count >= 16 { UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vec.self); return }
        for i in 0..<count { p[i] = v[i] }
    }

    /// y[r, :] += bias for every row.
    static func addBias(_ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, bias: UnsafePointer<Float>) {
        for r in 0..<rows {
            let row = y + r * cols
            var c = 0
            while c < cols {
                let n = cols - c
                store(load(row + c, n, fill: 0) + load(bias + c, n, fill: 0), row + c, n)
                c += 16
            }
        }
    }

    /// y = GELU(y + bias), row by row.
    static func addBiasGELU(_ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, bias: UnsafePointer<Float>) {
        for r in 0..<rows {
            let row = y + r * cols
            var c = 0
            while c < cols {
                let n = cols - c
                store(SIMDMath.gelu(load(row + c, n, fill: 0) + load(bias + c, n, fill: 0)), row + c, n)
                c += 16
            }
        }
    }

    /// x = LayerNorm(x + y + bias) · gamma + beta, row by row (the "add & norm" of a sublayer).
    /// `y` and `bias` may be nil (plain LayerNorm of x).
    static func addLayerNorm(
        _ x: UnsafeMutablePointer<Float>, adding y: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
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
                if let bias { v += load(bias + c, n, fill: 0) }
                store(v, row + c, n)
                sum += v
                c += 16
            }
            let mean = sum.sum() * invCols
            var squares = Vec()
            c = 0
            while c < cols {
                let n = cols - c
                let d = load(row + c, n, fill: mean) - mean
                squares = squares.addingProduct(d, d)
                c += 16
            }
            let inv = 1 / (squares.sum() * invCols + eps).squareRoot()
            c = 0
            while c < cols {
                let n = cols - c
                let v = (load(row + c, n, fill: 0) - mean) * inv
                store(v * load(gamma + c, n, fill: 0) + load(beta + c, n, fill: 0), row + c, n)
                c += 16
            }
        }
    }

    /// Softmax of each row of an `rows × cols` block with leading dimension `ld`, in place.
    static func softmaxRows(_ s: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int) {
        for r in 0..<rows {
            let row = s + r * ld
            var m = Vec(repeating: -.infinity)
            var c = 0
            while c < cols {
                m = pointwiseMax(m, load(row + c, cols - c, fill: -.infinity))
                c += 16
            }
            let rowMax = m.max()
            var sum = Vec()
            c = 0
            while c < cols {
                let n = cols - c
                let e = SIMDMath.exp(load(row + c, n, fill: -.infinity) - rowMax)
                store(e, row + c, n)
                sum += e
                c += 16
            }
            let inv = 1 / sum.sum()
            c = 0
            while c < cols {
                let n = cols - c
                store(load(row + c, n, fill: 0) * inv, row + c, n)
                c += 16
            }
        }
    }
}
