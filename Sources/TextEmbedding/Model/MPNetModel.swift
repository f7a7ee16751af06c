import Foundation

/// MPNet's relative position bias: a learned scalar per head and distance bucket, added to every
/// attention score (`encoder.relative_attention_bias`, shared by all layers).
struct RelativePositionBias: Sendable {
    /// `[buckets × heads]` as stored.
    let table: FloatTensor
    let buckets: Int
    let heads: Int
    static let maxDistance = 128

    /// The bucket of `relative = key position − query position`, computed in float32 as PyTorch
    /// does so that bucket boundaries fall on the same distances.
    static func bucket(_ relative: Int, buckets: Int) -> Int {
        var n = -relative
        let half = buckets / 2
        var result = 0
        if n < 0 { result += half }
        n = abs(n)
        let maxExact = half / 2
        if n < maxExact { return result + n }
        let scaled =
            logf(Float(n) / Float(maxExact)) / Float(log(Double(maxDistance) / Double(maxExact)))
            * Float(half - maxExact)
        return result + min(maxExact + Int(scaled), half - 1)
    }

    /// The `[heads × L × L]` bias of a sequence whose tokens sit at `positions`.
    func matrix(positions: ArraySlice<Int32>) -> [Float] {
        let l = positions.count
        var out = [Float](repeating: 0, count: heads * l * l)
        let p = Array(positions)
        for i in 0..<l {
            for j in 0..<l {
                let b = Self.bucket(Int(p[j] - p[i]), buckets: buckets)
                for h in 0..<heads { out[(h * l + i) * l + j] = table.pointer[b * heads + h] }
            }
        }
        return out
    }
}

/// The MPNet encoder (all-mpnet-base-v2): word + position embeddings (positions start after the
/// padding id, no token types), transformer layers with a relative position bias on attention.
struct MPNetModel: Sendable {
    let config: TransformerConfig
    let embeddings: BertEmbeddings
    let layers: [TransformerLayer]
    let relativeBias: RelativePositionBias

    static func load(_ file: SafetensorsFile, config c: TransformerConfig, plan: PrecisionPlan = .fp32) throws -> MPNetModel {
        let prefix = ["", "mpnet.", "model."].first { file.tensors[$0 + "embeddings.word_embeddings.weight"] != nil } ?? ""
        let h = c.hiddenSize
        var layers: [TransformerLayer] = []
        for index in 0..<c.layerCount {
            let name = prefix + "encoder.layer.\(index)."
            func part(_ n: String) throws -> (weight: [Float], bias: [Float]) {
                (
                    try file.floats(name + "attention.attn.\(n).weight", shape: [h, h]),
                    try file.floats(name + "attention.attn.\(n).bias", shape: [h])
                )
            }
            let attention = SelfAttention(
                qkv: .fused([try part("q"), try part("k"), try part("v")], in: h, precision: plan.attentionProjections),
                output: try .load(file, name + "attention.attn.o", in: h, out: h, precision: plan.attentionOutput),
                norm: try .load(file, name + "attention.LayerNorm", size: h, eps: c.layerNormEps),
                heads: c.headCount, headSize: c.headSize)
            let feedForward = FeedForward(
                intermediate: try .load(file, name + "intermediate.dense", in: h, out: c.intermediateSize, precision: plan.intermediate),
                output: try .load(file, name + "output.dense", in: c.intermediateSize, out: h, precision: plan.output),
                norm: try .load(file, name + "output.LayerNorm", size: h, eps: c.layerNormEps))
            layers.append(TransformerLayer(attention: attention, feedForward: feedForward))
        }
        var embeddingConfig = c
        embeddingConfig.typeVocabSize = 0
        let bias = RelativePositionBias(
            table: FloatTensor(
                try file.floats(
                    prefix + "encoder.relative_attention_bias.weight",
                    shape: [c.relativeAttentionBuckets, c.headCount])),
            buckets: c.relativeAttentionBuckets, heads: c.headCount)
        return MPNetModel(
            config: c, embeddings: try .load(file, prefix: prefix, config: embeddingConfig),
            layers: layers, relativeBias: bias)
    }

    func forward(_ tokens: PackedTokens, _ ws: Workspace, pool: WorkerPool) {
        // Position ids as HF computes them from the ids: real (non-padding) tokens count up from
        // padding_idx + 1; a padding id inside the text gets padding_idx.
        var embedded = tokens
        let pad = Int32(config.padTokenID)
        for range in tokens.sequences {
            var seen: Int32 = 0
            for i in range {
                if tokens.ids[i] != pad { seen += 1; embedded.positions[i] = seen + pad } else { embedded.positions[i] = pad }
            }
        }
        embeddings.forward(embedded, ws)
        // The bias depends only on the sequence's positions: compute it once for all layers.
        let biases = tokens.sequences.map { FloatTensor(relativeBias.matrix(positions: tokens.positions[$0])) }
        for layer in layers {
            layer.forward(tokens, ws, pool: pool, positionBias: { biases[$0].readPointer })
        }
    }
}
