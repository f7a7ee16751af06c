import EpisodicMemory

/// The JSON of a retrieval response (HTTP and `episodic retrieve --json`).
public enum RetrievalWire {
    /// Longest query echoed back in a response (a request may carry a query of a megabyte).
    public static let echoedQueryLimit = 1000

    public static func json(_ r: RetrievalResponse, agentID: String, query: String) -> String {
        var out = "{"
        func key(_ k: String) { JSONWriter.writeString(k, into: &out); out += ":" }
        func number(_ x: Double?) { if let x { JSONWriter.writeNumber(x, into: &out) } else { out += "null" } }
        func integer(_ x: Int?) { out += x.map { "\($0)" } ?? "null" }
        key("agent_id"); JSONWriter.writeString(agentID, into: &out)
        out += ","; key("fallback_reason")
        if let reason = r.fallbackReason { JSONWriter.writeString(reason.description, into: &out) } else { out += "null" }
        out += ","; key("fallback_code")
        if let reason = r.fallbackReason { JSONWriter.writeString(reason.code, into: &out) } else { out += "null" }
        out += ","; key("query"); JSONWriter.writeString(String(query.prefix(echoedQueryLimit)), into: &out)
        out += ","; key("query_truncated"); out += query.count > echoedQueryLimit ? "true" : "false"
        out += ","; key("results"); out += "["
        for (i, result) in r.results.enumerated() {
            if i > 0 { out += "," }
            out += "{"
            key("coarse_score"); number(result.coarseScore)
            out += ","; key("cross_encoder_score"); number(result.crossEncoderScore.map(Double.init))
            out += ","; key("dense_score"); number(result.denseScore.map(Double.init))
            out += ","; key("episode"); EpisodeWire.write(result.episode, into: &out)
            out += ","; key("final_score"); number(result.finalScore)
            out += ","; key("lexical_score"); number(result.lexicalScore)
            out += ","; key("ranks"); out += "{"
            key("dense"); integer(result.ranks.dense)
            out += ","; key("lexical"); integer(result.ranks.lexical)
            out += ","; key("quality"); integer(result.ranks.quality)
            out += "}"
            out += ","; key("recency_score"); number(result.recencyScore)
            out += ","; key("rerank_score"); number(result.rerankScore.map(Double.init))
            out += ","; key("stage"); JSONWriter.writeString(result.stage.rawValue, into: &out)
            out += "}"
        }
        out += "]"
        let t = r.timings
        out += ","; key("timings_ms"); out += "{"
        let stages: [(String, Double)] = [
            ("coarse", t.coarseMs), ("cross_encoder", t.crossEncoderMs), ("dense", t.denseMs), ("fast_embedding", t.fastEmbeddingMs),
            ("lexical", t.lexicalMs), ("quality_embedding", t.qualityEmbeddingMs),
            ("query_embedding", t.queryEmbeddingMs), ("rerank", t.rerankMs), ("total", t.totalMs),
        ]
        for (i, (name, ms)) in stages.enumerated() {
            if i > 0 { out += "," }
            key(name); number(ms)
        }
        out += "}}"
        return out
    }
}
