/// The position-wise feed-forward sublayer with its add & norm:
/// `x = LayerNorm(x + W₂ · GELU(W₁ x + b₁) + b₂)`.
struct FeedForward: Sendable {
    let intermediate: Linear
    let output: Linear
    let norm: LayerNorm

    func forward(_ rows: Int, _ ws: Workspace, pool: WorkerPool) {
        intermediate.forward(ws.hidden, rows: rows, into: ws.intermediate, pool: pool, gelu: true)
        output.forward(ws.intermediate, rows: rows, into: ws.projected, pool: pool)
        norm.forward(ws.hidden, adding: ws.projected, rows: rows, pool: pool)
    }
}
