/// The position-wise feed-forward sublayer with its add & norm:
/// `x = LayerNorm(x + W₂ · GELU(W₁ x + b₁) + b₂)`.
struct FeedForward: Sendable {
    let intermediate: Linear
    let output: Linear
    let norm: LayerNorm

    func forward(_ rows: Int, _ ws: Workspace) {
        intermediate.multiply(ws.hidden, rows: rows, into: ws.intermediate)
        RowKernels.addBiasGELU(ws.intermediate, rows: rows, cols: intermediate.outFeatures, bias: intermediate.bias.readPointer)
        output.multiply(ws.intermediate, rows: rows, into: ws.projected)
        norm.forward(ws.hidden, adding: ws.projected, bias: output.bias.readPointer, rows: rows)
    }
}
