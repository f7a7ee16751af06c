import CKernels

/// Multi-head self-attention with its output projection and add & norm:
/// `x = LayerNorm(x + O · softmax(Q Kᵀ / √d + bias) V)`, computed per sequence of a packed batch.
///
/// Both attention products run on ``PackedGemm`` with Kᵀ and V packed per head (2·L·d floats):
/// per-head `cblas_sgemm` calls on these tiny shapes (32 × 32 × 32) cost more in call and packing
/// overhead than in arithmetic.
struct SelfAttention: Sendable {
    /// Query, key and value projections stacked: one product gives `[Q | K | V]` per token.
    let qkv: Linear
    let output: Linear
    let norm: LayerNorm
    let heads: Int
    let headSize: Int

    var hiddenSize: Int { heads * headSize }

    /// Runs the sublayer on `ws.hidden` in place. `positionBias`, when given, returns for a sequence
    /// the `[heads × L × L]` additive bias of its attention scores (MPNet's relative positions).
    func forward(
        _ tokens: PackedTokens, _ ws: Workspace, pool: WorkerPool,
        positionBias: (@Sendable (Int) -> UnsafePointer<Float>)? = nil
    ) {
        let t = tokens.count
        let h = hiddenSize
        qkv.forward(ws.hidden, rows: t, into: ws.qkv, pool: pool)

        let items = tokens.sequences.count * heads
        let workers = max(1, min(pool.extraThreads + 1, items))
        let longest = tokens.longest
        let d = headSize
        let scale = 1 / Float(d).squareRoot()
        let qkv = UnsafePointer(ws.qkv), context = ws.context
        let run = { (worker: Int) in
            let keySize = PackedGemm.packedCount(k: d, n: longest)
            let valueSize = PackedGemm.packedCount(k: longest, n: d)
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(1, longest * longest + keySize + valueSize))
            defer { buffer.deallocate() }
            let scores = buffer, keys = buffer + longest * longest, values = keys + keySize
            var item = worker
            while item < items {
                let sequence = item / heads, head = item % heads
                let range = tokens.sequences[sequence]
                let length = range.count
                let q = qkv + range.lowerBound * 3 * h + head * d
                // Kᵀ: element (i, j) = K[j][i]; V: element (i, j) = V[i][j].
                PackedGemm.pack(q + h, k: d, n: length, rowStride: 1, columnStride: 3 * h, into: keys)
                PackedGemm.pack(q + 2 * h, k: length, n: d, rowStride: 3 * h, columnStride: 1, into: values)
                PackedGemm.multiply(
                    m: length, a: q, lda: 3 * h, packed: keys, k: d, n: length, bias: nil,
                    c: scores, ldc: length)
                ek_softmax_rows(
                    scores, length, length, length, scale,
                    positionBias.map { $0(sequence) + head * length * length })
                PackedGemm.multiply(
                    m: length, a: scores, lda: length, packed: values, k: length, n: d, bias: nil,
                    c: context + range.lowerBound * h + head * d, ldc: h)
                item += workers
            }
        }
        pool.parallelFor(workers, run)

        output.forward(ws.context, rows: t, into: ws.projected, pool: pool)
        norm.forward(ws.hidden, adding: ws.projected, rows: t, pool: pool)
    }
}
