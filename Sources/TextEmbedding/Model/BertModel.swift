/// Word + position + token-type embeddings followed by LayerNorm, BERT's input layer.
struct BertEmbeddings: Sendable {
    let words: FloatTensor
    let positions: FloatTensor
    let tokenTypes: FloatTensor?
    let norm: LayerNorm
    let config: TransformerConfig

    static func load(_ file: SafetensorsFile, prefix: String, config c: TransformerConfig) throws -> BertEmbeddings {
        let h = c.hiddenSize
        let name = prefix + "embeddings."
        let types: FloatTensor? =
            c.typeVocabSize > 0
            ? FloatTensor(try file.floats(name + "token_type_embeddings.weight", shape: [c.typeVocabSize, h])) : nil
        return BertEmbeddings(
            words: FloatTensor(try file.floats(name + "word_embeddings.weight", shape: [c.vocabSize, h])),
            positions: FloatTensor(try file.floats(name + "position_embeddings.weight", shape: [c.maxPositionEmbeddings, h])),
            tokenTypes: types,
            norm: try LayerNorm.load(file, name + "LayerNorm", size: h, eps: c.layerNormEps),
            config: c)
    }

    /// Writes the embedded tokens into `ws.hidden`. Ids, types and positions were range-checked by
    /// the caller.
    func forward(_ tokens: PackedTokens, _ ws: Workspace) {
        let h = config.hiddenSize
        for i in 0..<tokens.count {
            let out = ws.hidden + i * h
            let word = words.readPointer + Int(tokens.ids[i]) * h
            let position = positions.readPointer + Int(tokens.positions[i]) * h
            if let tokenTypes {
                let type = tokenTypes.readPointer + Int(tokens.typeIDs[i]) * h
                for k in 0..<h { out[k] = word[k] + position[k] + type[k] }
            } else {
                for k in 0..<h { out[k] = word[k] + position[k] }
            }
        }
        norm.forward(ws.hidden, rows: tokens.count)
    }
}

/// The BERT encoder (bert-base, MiniLM, bge): embeddings and N transformer layers, loaded from the
/// checkpoint's tensor names (`[bert.]embeddings.*`, `[bert.]encoder.layer.N.*`).
struct BertModel: Sendable {
    let config: TransformerConfig
    let embeddings: BertEmbeddings
    let layers: [TransformerLayer]

    static func load(_ file: SafetensorsFile, config c: TransformerConfig, plan: PrecisionPlan = .fp32) throws -> BertModel {
        let prefix = ["", "bert.", "model."].first { file.tensors[$0 + "embeddings.word_embeddings.weight"] != nil } ?? ""
        let h = c.hiddenSize
        var layers: [TransformerLayer] = []
        for index in 0..<c.layerCount {
            let name = prefix + "encoder.layer.\(index)."
            func part(_ n: String) throws -> (weight: [Float], bias: [Float]) {
                (
                    try file.floats(name + "attention.self.\(n).weight", shape: [h, h]),
                    try file.floats(name + "attention.self.\(n).bias", shape: [h])
                )
            }
            let attention = SelfAttention(
                qkv: .fused([try part("query"), try part("key"), try part("value")], in: h, precision: plan.attentionProjections),
                output: try .load(file, name + "attention.output.dense", in: h, out: h, precision: plan.attentionOutput),
                norm: try .load(file, name + "attention.output.LayerNorm", size: h, eps: c.layerNormEps),
                heads: c.headCount, headSize: c.headSize)
            let feedForward = FeedForward(
                intermediate: try .load(file, name + "intermediate.dense", in: h, out: c.intermediateSize, precision: plan.intermediate),
                output: try .load(file, name + "output.dense", in: c.intermediateSize, out: h, precision: plan.output),
                norm: try .load(file, name + "output.LayerNorm", size: h, eps: c.layerNormEps))
            layers.append(TransformerLayer(attention: attention, feedForward: feedForward))
        }
        return BertModel(config: c, embeddings: try .load(file, prefix: prefix, config: c), layers: layers)
    }

    /// The last hidden state of every packed token, in `ws.hidden`.
    func forward(_ tokens: PackedTokens, _ ws: Workspace, pool: WorkerPool) {
        embeddings.forward(tokens, ws)
        for layer in layers { layer.forward(tokens, ws, pool: pool) }
    }
}
