/// A fully connected layer, `y = x · Wᵀ + b`, with `W` stored `[out × in]` as in the checkpoint.
struct Linear: Sendable {
    let weight: FloatTensor
    let bias: FloatTensor
    let inFeatures: Int
    let outFeatures: Int

    /// Loads `<name>.weight` and `<name>.bias`, checking their shapes.
    static func load(_ file: SafetensorsFile, _ name: String, in inFeatures: Int, out outFeatures: Int) throws -> Linear {
        Linear(weight: FloatTensor(try file.floats(name + ".weight", shape: [outFeatures, inFeatures])),
               bias: FloatTensor(try file.floats(name + ".bias", shape: [outFeatures])),
               inFeatures: inFeatures, outFeatures: outFeatures)
    }

    /// Stacks several layers with the same input into one (the query, key and value projections),
    /// so that one matrix product computes all of them.
    static func fused(_ parts: [(weight: [Float], bias: [Float])], in inFeatures: Int) -> Linear {
        Linear(weight: FloatTensor(concatenating: parts.map(\.weight)),
               bias: FloatTensor(concatenating: parts.map(\.bias)),
               inFeatures: inFeatures, outFeatures: parts.reduce(0) { $0 + $1.bias.count })
    }

    /// y[rows × out] = x[rows × in] · Wᵀ, without the bias (callers fuse it into the next kernel).
    func multiply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        Gemm.multiplyTransposed(m: rows, n: outFeatures, k: inFeatures,
                                a: x, lda: inFeatures, b: weight.readPointer, ldb: inFeatures, c: y, ldc: outFeatures)
    }
}

/// Layer normalization over the last dimension with learned scale and shift.
struct LayerNorm: Sendable {
    let gamma: FloatTensor
    let beta: FloatTensor
    let eps: Float
    let size: Int

    /// Loads `<name>.weight` (gamma) and `<name>.bias` (beta).
    static func load(_ file: SafetensorsFile, _ name: String, size: Int, eps: Float) throws -> LayerNorm {
        LayerNorm(gamma: FloatTensor(try file.floats(name + ".weight", shape: [size])),
                  beta: FloatTensor(try file.floats(name + ".bias", shape: [size])),
                  eps: eps, size: size)
    }

    /// x = LayerNorm(x + residual + bias) for `rows` rows; `residual` and `bias` are optional.
    func forward(_ x: UnsafeMutablePointer<Float>, adding residual: UnsafePointer<Float>? = nil,
                 bias: UnsafePointer<Float>? = nil, rows: Int) {
        RowKernels.addLayerNorm(x, adding: residual, bias: bias, rows: rows, cols: size,
                                gamma: gamma.readPointer, beta: beta.readPointer, eps: eps)
    }
}
