/// Pooling of token vectors into one sentence vector, and L2 normalization.
enum Pooling {
    /// Pools rows `rows` of the `[T × width]` hidden state; the first `skipping` rows of the
    /// sequence are left out of mean/max pooling (prompt tokens when `include_prompt` is false).
    static func pool(
        _ hidden: UnsafePointer<Float>, rows: Range<Int>, width: Int, strategy: PoolingStrategy,
        skipping: Int = 0
    ) -> [Float] {
        var out = [Float](repeating: 0, count: width)
        if strategy == .cls {
            for k in 0..<width { out[k] = hidden[rows.lowerBound * width + k] }
            return out
        }
        var used = rows
        if skipping > 0 && skipping < rows.count { used = (rows.lowerBound + skipping)..<rows.upperBound }
        if strategy == .max {
            for k in 0..<width { out[k] = -.infinity }
            for r in used { for k in 0..<width { out[k] = max(out[k], hidden[r * width + k]) } }
            return out
        }
        for r in used { for k in 0..<width { out[k] += hidden[r * width + k] } }
        let count = Float(max(used.count, 1))
        let divisor = strategy == .meanSqrtLength ? count.squareRoot() : count
        for k in 0..<width { out[k] /= divisor }
        return out
    }

    /// Scales `vector` to unit length (sentence-transformers' Normalize: divides by max(‖v‖, 1e-12)).
    static func normalize(_ vector: inout [Float]) {
        var sum: Float = 0
        for x in vector { sum += x * x }
        let norm = max(sum.squareRoot(), 1e-12)
        for k in vector.indices { vector[k] /= norm }
    }
}
