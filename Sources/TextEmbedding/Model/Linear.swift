import CKernels

/// A fully connected layer, `y = x · Wᵀ + b`; the checkpoint stores `W` as `[out × in]`. The
/// weights are packed once, at load: as float32 for the register-blocked kernel of
/// ``PackedGemm``, or quantized to int8 (``QuantizedMatrix``).
struct Linear: Sendable {
    enum Weights: Sendable {
        case float32(PackedMatrix)
        case float32Tiled(TiledFloatMatrix)
        case bfloat16(BFloat16Matrix)
        case int8(QuantizedMatrix)
    }

    let weights: Weights
    let bias: FloatTensor
    let inFeatures: Int
    let outFeatures: Int

    init(weight: [Float], bias: [Float], in inFeatures: Int, out outFeatures: Int, precision: LinearPrecision = .fp32) {
        switch precision {
        case .fp32:
            weights =
                TiledFloatMatrix.isAvailable
                ? .float32Tiled(TiledFloatMatrix(linearWeight: weight, out: outFeatures, in: inFeatures))
                : .float32(PackedMatrix(linearWeight: weight, out: outFeatures, in: inFeatures))
        case .bf16: weights = .bfloat16(BFloat16Matrix(linearWeight: weight, out: outFeatures, in: inFeatures))
        case .int8: weights = .int8(QuantizedMatrix(linearWeight: weight, out: outFeatures, in: inFeatures))
        }
        self.bias = FloatTensor(bias)
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
    }

    /// Loads `<name>.weight` and `<name>.bias`, checking their shapes.
    static func load(
        _ file: SafetensorsFile, _ name: String, in inFeatures: Int, out outFeatures: Int, precision: LinearPrecision = .fp32
    ) throws -> Linear {
        Linear(
            weight: try file.floats(name + ".weight", shape: [outFeatures, inFeatures]),
            bias: try file.floats(name + ".bias", shape: [outFeatures]),
            in: inFeatures, out: outFeatures, precision: precision)
    }

    /// Stacks several layers with the same input into one (the query, key and value projections),
    /// so that one matrix product computes all of them.
    static func fused(_ parts: [(weight: [Float], bias: [Float])], in inFeatures: Int, precision: LinearPrecision = .fp32) -> Linear {
        Linear(
            weight: parts.flatMap(\.weight), bias: parts.flatMap(\.bias), in: inFeatures,
            out: parts.reduce(0) { $0 + $1.bias.count }, precision: precision)
    }

    /// y[rows × out] = x[rows × in] · Wᵀ + b, then GELU if `gelu` (applied by each thread to the
    /// columns it computed), split by column tiles over `pool`'s threads.
    func forward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, pool: WorkerPool, gelu: Bool = false) {
        let matrix: PackedMatrix
        switch weights {
        case .float32(let packed): matrix = packed
        case .int8(let quantized):
            quantized.multiply(x, rows: rows, bias: bias.readPointer, into: y, pool: pool, gelu: gelu)
            return
        case .bfloat16(let rounded):
            rounded.multiply(x, rows: rows, bias: bias.readPointer, into: y, pool: pool, gelu: gelu)
            return
        case .float32Tiled(let tiled):
            tiled.multiply(x, rows: rows, bias: bias.readPointer, into: y, pool: pool, gelu: gelu)
            return
        }
        defer { if gelu { ek_gelu(y, rows * outFeatures) } }
        let work = rows * inFeatures * outFeatures
        let workers = min(pool.extraThreads + 1, matrix.panels)
        // Splitting pays only above ~1 M multiply-adds: below, handing work over costs more.
        if workers > 1 && work >= 1 << 20 {
            pool.parallelRanges(matrix.panels) { panels in
                PackedGemm.multiply(
                    m: rows, a: x, lda: inFeatures, b: matrix, bias: bias.readPointer,
                    c: y, ldc: outFeatures, panels: panels)
            }
        } else {
            PackedGemm.multiply(
                m: rows, a: x, lda: inFeatures, b: matrix, bias: bias.readPointer,
                c: y, ldc: outFeatures)
        }
    }
}

/// One linear layer on the packed kernel, for the kernel benchmark of `episodic-bench gemm` (which
/// compares it with `cblas_sgemm`); not part of the library's API.
@_spi(Benchmarks)
public struct BenchmarkLinearLayer: Sendable {
    let layer: Linear
    let pool = WorkerPool(extraThreads: 0)

    /// A layer with the row-major `[out × in]` weight and `out` biases, in `precision`.
    public init(weight: [Float], bias: [Float], in inFeatures: Int, out outFeatures: Int, precision: EmbeddingPrecision = .fp32) {
        layer = Linear(weight: weight, bias: bias, in: inFeatures, out: outFeatures, precision: LinearPrecision(precision))
    }

    /// y[rows × out] = x[rows × in] · Wᵀ + b on one thread.
    public func forward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        layer.forward(x, rows: rows, into: y, pool: pool)
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
        LayerNorm(
            gamma: FloatTensor(try file.floats(name + ".weight", shape: [size])),
            beta: FloatTensor(try file.floats(name + ".bias", shape: [size])),
            eps: eps, size: size)
    }

    /// x = LayerNorm(x + residual) for `rows` rows; `residual` is optional. With `pool`, a
    /// batched pass's many rows are split over its threads.
    func forward(_ x: UnsafeMutablePointer<Float>, adding residual: UnsafePointer<Float>? = nil, rows: Int, pool: WorkerPool? = nil) {
        let (size, gamma, beta, eps) = (self.size, self.gamma.readPointer, self.beta.readPointer, self.eps)
        let normalize = { (r: Range<Int>) in
            RowKernels.addLayerNorm(
                x + r.lowerBound * size, adding: residual.map { $0 + r.lowerBound * size }, rows: r.count, cols: size,
                gamma: gamma, beta: beta, eps: eps)
        }
        if let pool { pool.parallelRows(rows, normalize) } else { normalize(0..<rows) }
    }
}
