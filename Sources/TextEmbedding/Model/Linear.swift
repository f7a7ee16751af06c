/// Which engine multiplies activations by a linear layer's weights.
public enum LinearBackend: String, Sendable, CaseIterable {
    /// Weights packed at load time, register-blocked Swift SIMD kernel (``PackedGemm``); the default.
    case packed
    /// `cblas_sgemm` on the transposed weights (OpenBLAS packs them on every call).
    case openBLAS = "openblas"
}

/// A fully connected layer, `y = x · Wᵀ + b`; the checkpoint stores `W` as `[out × in]`.
struct Linear: Sendable {
    enum Weights: Sendable {
        case packed(PackedMatrix)
        /// `Wᵀ`, `[in × out]` row-major: OpenBLAS multiplies untransposed operands 10–20 % faster at
        /// few-row shapes (measured: 62 vs 53 GFLOP/s at 32 × 1152 × 384).
        case transposed(FloatTensor)
    }

    let weights: Weights
    let bias: FloatTensor
    let inFeatures: Int
    let outFeatures: Int

    init(weight: [Float], bias: [Float], in inFeatures: Int, out outFeatures: Int, backend: LinearBackend) {
        switch backend {
        case .packed: weights = .packed(PackedMatrix(linearWeight: weight, out: outFeatures, in: inFeatures))
        case .openBLAS: weights = .transposed(FloatTensor(transposing: weight, rows: outFeatures, cols: inFeatures))
        }
        self.bias = FloatTensor(bias)
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
    }

    /// Loads `<name>.weight` and `<name>.bias`, checking their shapes.
    static func load(_ file: SafetensorsFile, _ name: String, in inFeatures: Int, out outFeatures: Int,
                     backend: LinearBackend) throws -> Linear {
        Linear(weight: try file.floats(name + ".weight", shape: [outFeatures, inFeatures]),
               bias: try file.floats(name + ".bias", shape: [outFeatures]),
               in: inFeatures, out: outFeatures, backend: backend)
    }

    /// Stacks several layers with the same input into one (the query, key and value projections),
    /// so that one matrix product computes all of them.
    static func fused(_ parts: [(weight: [Float], bias: [Float])], in inFeatures: Int, backend: LinearBackend) -> Linear {
        Linear(weight: parts.flatMap(\.weight), bias: parts.flatMap(\.bias), in: inFeatures,
               out: parts.reduce(0) { $0 + $1.bias.count }, backend: backend)
    }

    /// y[rows × out] = x[rows × in] · Wᵀ + b, split by column panels over `pool`'s threads.
    func forward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, pool: WorkerPool) {
        switch weights {
        case .packed(let matrix):
            let work = rows * inFeatures * outFeatures
            let workers = min(pool.extraThreads + 1, matrix.panels)
            // Splitting pays only above ~1 M multiply-adds: below, handing work over costs more.
            if workers > 1 && work >= 1 << 20 {
                pool.parallelFor(workers) { worker in
                    let panels = (matrix.panels * worker / workers)..<(matrix.panels * (worker + 1) / workers)
                    PackedGemm.multiply(m: rows, a: x, lda: inFeatures, b: matrix, bias: bias.readPointer,
                                        c: y, ldc: outFeatures, panels: panels)
                }
            } else {
                PackedGemm.multiply(m: rows, a: x, lda: inFeatures, b: matrix, bias: bias.readPointer,
                                    c: y, ldc: outFeatures)
            }
        case .transposed(let wt):
            Gemm.multiply(m: rows, n: outFeatures, k: inFeatures,
                          a: x, lda: inFeatures, b: wt.readPointer, ldb: outFeatures, c: y, ldc: outFeatures)
            RowKernels.addBias(y, rows: rows, cols: outFeatures, bias: bias.readPointer)
        }
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

    /// x = LayerNorm(x + residual) for `rows` rows; `residual` is optional.
    func forward(_ x: UnsafeMutablePointer<Float>, adding residual: UnsafePointer<Float>? = nil, rows: Int) {
        RowKernels.addLayerNorm(x, adding: residual, rows: rows, cols: size,
                                gamma: gamma.readPointer, beta: beta.readPointer, eps: eps)
    }
}

