import EpisodicMemory
import EpisodicWire
import Foundation
import Hummingbird

extension EpisodicAPI {
    @Sendable func retrieveHybrid(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let agent = try RequestInput.agent(context)
        let body = try await RequestInput.body(request, limit: configuration.maxBodyBytes, timeout: configuration.bodyTimeoutSeconds)
        let (query, options) = try APIError.fromWire { () throws(WireError) in try hybridRequest(body) }
        try checkQuery(query)
        let memory = self.memory, fixedOptions = options
        let response = try await gate.run { try await memory.retrieve(agentID: agent, query: query, options: fixedOptions) }
        metrics.recordRetrieval(response.timings, mode: "hybrid", fallback: response.fallbackReason != nil)
        return .json(RetrievalWire.json(response, agentID: agent, query: query))
    }

    @Sendable func retrieveBaseline(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let agent = try RequestInput.agent(context)
        let body = try await RequestInput.body(request, limit: configuration.maxBodyBytes, timeout: configuration.bodyTimeoutSeconds)
        let (query, topK, filter) = try APIError.fromWire { () throws(WireError) in
            try body.allowOnly(["query", "top_k", "filter"])
            var filter: EpisodeFilter?
            if let value = body.fields["filter"], !value.isNull { filter = try FilterWire.filter(from: value, context: "\"filter\"") }
            return (try body.requiredString("query"), try body.int("top_k", range: 1...1000) ?? 10, filter)
        }
        try checkQuery(query)
        let memory = self.memory
        let response = try await gate.run { try await memory.retrieveBaseline(agentID: agent, query: query, topK: topK, filter: filter) }
        metrics.recordRetrieval(response.timings, mode: "baseline", fallback: false)
        return .json(RetrievalWire.json(response, agentID: agent, query: query))
    }

    func hybridRequest(_ body: WireObject) throws(WireError) -> (String, RetrievalOptions) {
        try body.allowOnly([
            "query", "coarse_top_k", "rerank_top_k", "use_reranking", "lexical", "limit", "filter", "recency_half_life", "recency_weight",
        ])
        var options = RetrievalOptions(timeBudgetMs: configuration.retrievalTimeBudgetMs)
        let query = try body.requiredString("query")
        options.coarseTopK = try body.int("coarse_top_k", range: 1...1000) ?? options.coarseTopK
        options.rerankTopK = try body.int("rerank_top_k", range: 0...1000) ?? min(options.rerankTopK, options.coarseTopK)
        options.useReranking = try body.bool("use_reranking") ?? true
        options.lexical = try body.bool("lexical") ?? true
        options.limit = try body.int("limit", range: 1...1000) ?? options.coarseTopK
        if let filter = body.fields["filter"], !filter.isNull {
            options.filter = try FilterWire.filter(from: filter, context: "\"filter\"")
        }
        if let halfLife = body.fields["recency_half_life"], !halfLife.isNull {
            options.recencyHalfLife = try FilterWire.duration(halfLife, field: "\"recency_half_life\"")
        }
        options.recencyWeight = try body.number("recency_weight", range: 0...1) ?? options.recencyWeight
        return (query, options)
    }

    /// Queries share the episode text limit (the tokenizer reads only the first tokens, but the
    /// text is normalized whole) and may not be empty.
    func checkQuery(_ query: String) throws {
        let limit = memory.limits.maxTextBytes
        if query.utf8.count > limit {
            throw APIError(.contentTooLarge, "text_too_large", "query has \(query.utf8.count) bytes, over the limit of \(limit)")
        }
        if query.allSatisfy(\.isWhitespace) { throw APIError.invalid("\"query\" is empty") }
    }
}
