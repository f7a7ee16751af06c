/// One encoder block: self-attention, then the feed-forward network, each with add & norm.
struct TransformerLayer: Sendable {
    let attention: SelfAttention
    let feedForward: FeedForward

    func forward(
        _ tokens: PackedTokens, _ ws: Workspace, pool: WorkerPool,
        positionBias: (@Sendable (Int) -> UnsafePointer<Float>)? = nil
    ) {
        attention.forward(tokens, ws, pool: pool, positionBias: positionBias)
        feedForward.forward(tokens.count, ws, pool: pool)
    }
}
