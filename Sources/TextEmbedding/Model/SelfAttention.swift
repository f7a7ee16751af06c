import Dispatch

/// Multi-head self-attention with its output projection and add & norm:
/// `x = LayerNorm(x + O · softmax(Q Kᵀ / √d + bias) V)`, computed per sequence of a packed batch.
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
    func forward(_ tokens: PackedTokens, _ ws: Workspace, threads: Int,
                 positionBias: (@Sendable (Int) -> UnsafePointer<Float>)? = nil) {
        let t = tokens.count
        let h = hiddenSize
        qkv.multiply(ws.hidden, rows: t, into: ws.qkv)
        RowKernels.addBias(ws.qkv, rows: t, cols: 3 * h, bias: qkv.bias.readPointer)

        let items = tokens.sequences.count * heads
        let workers = max(1, min(threads, items))
        let longest = tokens.longest
        let scale = 1 / Float(headSize).squareRoot()
        let scratch = SharedScratch(qkv: ws.qkv, context: ws.context)
        let run: @Sendable (Int) -> Void = { worker in
            let qkvPointer = scratch.qkv, context = scratch.context
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: max(1, longest * longest))
            defer { scores.deallocate() }
            var item = worker
            while item < items {
                let sequence = item / heads, head = item % heads
                let range = tokens.sequences[sequence]
                let length = range.count
                let q = qkvPointer + range.lowerBound * 3 * h + head * headSize
                var beta: Float = 0
                if let positionBias {
                    scores.update(from: positionBias(sequence) + head * length * length, count: length * length)
                    beta = 1
                }
                Gemm.multiplyTransposed(m: length, n: length, k: headSize, alpha: scale,
                                        a: q, lda: 3 * h, b: q + h, ldb: 3 * h, beta: beta, c: scores, ldc: length)
                RowKernels.softmaxRows(scores, rows: length, cols: length, ld: length)
                Gemm.multiply(m: length, n: headSize, k: length, a: scores, lda: length, b: q + 2 * h, ldb: 3 * h,
                              c: context + range.lowerBound * h + head * headSize, ldc: h)
                item += workers
            }
        }
        if workers == 1 {
            run(0)
        } else {
            DispatchQueue.concurrentPerform(iterations: workers, execute: run)
        }

        output.multiply(ws.context, rows: t, into: ws.projected)
        norm.forward(ws.hidden, adding: ws.projected, bias: output.bias.readPointer, rows: t)
    }
}
