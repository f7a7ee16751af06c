import EpisodeStore
import Foundation
import HTTPTypes
import Hummingbird
import HybridRetrieval
import Logging

/// Limits and defaults of the HTTP API.
public struct APIConfiguration: Sendable {
    /// Largest request body, in bytes (413 beyond).
    public var maxBodyBytes = 8 << 20
    /// Largest page of `GET /agents/{agent_id}/episodes`.
    public var maxPageSize = 1000
    /// Episodes per `POST /agents/{agent_id}/episodes`.
    public var maxBatchSize = 1000
    /// Time budget of the quality stage of a hybrid retrieval (coarse fallback beyond), in ms.
    public var retrievalTimeBudgetMs: Double? = 2000
    /// Requests embedding or retrieving at once; the rest wait in arrival order. Default: the
    /// number of cores.
    public var concurrentComputations = ProcessInfo.processInfo.activeProcessorCount

    public init() {}
}

/// One operation of the API: the router and the OpenAPI document are both built from this table,
/// so they cannot drift apart.
struct APIRoute: Sendable {
    var method: HTTPRequest.Method
    /// OpenAPI-style path: `/agents/{agent_id}/episodes/{id}`.
    var path: String
    var operationID: String
    var summary: String
    var requestSchema: String?
    var responseSchema: String
    var successStatus: Int = 200
    var queryParameters: [(name: String, description: String)] = []
    var errors: [Int]
    var handler: @Sendable (Request, BasicRequestContext) async throws -> Response

    /// Hummingbird's form of the path: `{name}` → `:name`.
    var routerPath: String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix("{") ? ":" + segment.dropFirst().dropLast() : String(segment)
        }.joined(separator: "/")
    }
}

/// The EpisodicMemory HTTP API over one memory.
public final class EpisodicAPI: Sendable {
    public let memory: EpisodicMemory
    public let configuration: APIConfiguration
    let metrics = ServerMetrics()
    let gate: ComputeGate
    private let logger = Logger(label: "episodic.server")

    public init(memory: EpisodicMemory, configuration: APIConfiguration = .init()) {
        self.memory = memory
        self.configuration = configuration
        gate = ComputeGate(permits: configuration.concurrentComputations)
    }

    /// A router with every route, the JSON error middleware and request metrics.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: ErrorMiddleware())
        for route in routes {
            router.on(RouterPath(route.routerPath), method: route.method, use: route.handler)
        }
        return router
    }

    // MARK: - Route table

    var routes: [APIRoute] {
        [
            APIRoute(method: .post, path: "/agents/{agent_id}/episodes", operationID: "addEpisodes",
                     summary: "Add one episode, or a batch as {\"episodes\": [...]}; vectors are computed (or taken from \"vectors\").",
                     requestSchema: "AddEpisodesRequest", responseSchema: "AddEpisodesResponse", successStatus: 201,
                     errors: [400, 409, 413, 422, 503], handler: addEpisodes),
            APIRoute(method: .get, path: "/agents/{agent_id}/episodes", operationID: "listEpisodes",
                     summary: "The agent's episodes, newest first, a page at a time.",
                     responseSchema: "EpisodePage",
                     queryParameters: [("limit", "page size, 1…1000 (default 50)"), ("cursor", "next_cursor of the previous page")],
                     errors: [400], handler: listEpisodes),
            APIRoute(method: .get, path: "/agents/{agent_id}/episodes/{id}", operationID: "getEpisode",
                     summary: "One episode.", responseSchema: "Episode", errors: [404], handler: getEpisode),
            APIRoute(method: .delete, path: "/agents/{agent_id}/episodes/{id}", operationID: "deleteEpisode",
                     summary: "Delete an episode and its vectors.", responseSchema: "Deleted", errors: [404], handler: deleteEpisode),
            APIRoute(method: .post, path: "/agents/{agent_id}/retrieve-hybrid", operationID: "retrieveHybrid",
                     summary: "Two-stage retrieval: dense + BM25 candidates, reranked with the quality vectors (coarse fallback when unavailable).",
                     requestSchema: "RetrieveHybridRequest", responseSchema: "RetrievalResponse",
                     errors: [400, 404, 413, 503], handler: retrieveHybrid),
            APIRoute(method: .post, path: "/agents/{agent_id}/retrieve-baseline", operationID: "retrieveBaseline",
                     summary: "Fast-vector search only (the A/B baseline).",
                     requestSchema: "RetrieveBaselineRequest", responseSchema: "RetrievalResponse",
                     errors: [400, 404, 413, 503], handler: retrieveBaseline),
            APIRoute(method: .get, path: "/health", operationID: "health",
                     summary: "Store and model status.", responseSchema: "Health", errors: [], handler: health),
            APIRoute(method: .get, path: "/metrics", operationID: "metrics",
                     summary: "Prometheus metrics (text format).", responseSchema: "PrometheusText", errors: [], handler: metricsText),
            APIRoute(method: .get, path: "/openapi.json", operationID: "openapi",
                     summary: "This API's OpenAPI 3.1 document.", responseSchema: "OpenAPIDocument", errors: [], handler: openAPI),
        ]
    }

    // MARK: - Handlers

    static func agent(_ context: BasicRequestContext) throws -> String {
        guard let agent = context.parameters.get("agent_id"), !agent.isEmpty else { throw APIError.invalid("missing agent_id") }
        return agent
    }

    @Sendable func addEpisodes(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let agent = try Self.agent(context)
        let body = try await JSONBody.read(request, limit: configuration.maxBodyBytes)
        var items: [(episode: Episode, vectors: [String: [Float]])] = []
        if body.has("episodes") {
            try body.allowOnly(["episodes"])
            guard let list = body.fields["episodes"] as? [Any], !list.isEmpty else {
                throw APIError.invalid("\"episodes\" must be a non-empty array")
            }
            guard list.count <= configuration.maxBatchSize else {
                throw APIError(.contentTooLarge, "batch_too_large", "\(list.count) episodes in one request, over the limit of \(configuration.maxBatchSize)")
            }
            items = try list.enumerated().map { try JSONBody.episode($1, agentID: agent, index: $0) }
        } else {
            items = [try JSONBody.episode(body.fields, agentID: agent, index: nil)]
        }
        let service = memory.service, batch = items
        let stored = try await gate.run { try service.add(batch) }
        return try Response.jsonObject(["ids": stored.map(\.id)], status: .created)
    }

    @Sendable func listEpisodes(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let agent = try Self.agent(context)
        let query = request.uri.queryParameters
        var limit = 50
        if let text = query["limit"] {
            guard let value = Int(String(text)), (1...configuration.maxPageSize).contains(value) else {
                throw APIError.invalid("limit must be an integer in 1…\(configuration.maxPageSize)")
            }
            limit = value
        }
        var after: Episode?
        if let cursor = query["cursor"], !cursor.isEmpty { after = try PageCursor.decode(String(cursor), agentID: agent) }
        let page = try memory.store.episodes(agentID: agent, limit: limit, after: after)
        let next = page.count == limit ? page.last.map(PageCursor.encode) : nil
        struct Page: Encodable {
            var episodes: [APIModels.EpisodeBody]
            var nextCursor: String?
            enum CodingKeys: String, CodingKey { case episodes, nextCursor = "next_cursor" }
            func encode(to encoder: Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(episodes, forKey: .episodes)
                try c.encode(nextCursor, forKey: .nextCursor)
            }
        }
        return try .json(Page(episodes: page.map(APIModels.EpisodeBody.init), nextCursor: next))
    }

    /// The episode `id`, which must belong to the path's agent (404 otherwise, as if absent).
    func ownedEpisode(_ context: BasicRequestContext) throws -> Episode {
        let agent = try Self.agent(context)
        guard let id = context.parameters.get("id") else { throw APIError.invalid("missing episode id") }
        guard let episode = try memory.episode(id: id), episode.agentID == agent else { throw StoreError.episodeNotFound(id) }
        return episode
    }

    @Sendable func getEpisode(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try .json(APIModels.EpisodeBody(try ownedEpisode(context)))
    }

    @Sendable func deleteEpisode(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let episode = try ownedEpisode(context)
        guard try memory.delete(id: episode.id) else { throw StoreError.episodeNotFound(episode.id) }
        return try .jsonObject(["deleted": episode.id])
    }

    @Sendable func retrieveHybrid(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let agent = try Self.agent(context)
        let body = try await JSONBody.read(request, limit: configuration.maxBodyBytes)
        try body.allowOnly(["query", "coarse_top_k", "rerank_top_k", "use_reranking", "lexical", "limit"])
        let query = try body.requiredString("query")
        var options = RetrievalOptions(timeBudgetMs: configuration.retrievalTimeBudgetMs)
        options.coarseTopK = try body.int("coarse_top_k", range: 1...1000) ?? options.coarseTopK
        options.rerankTopK = try body.int("rerank_top_k", range: 0...1000) ?? min(options.rerankTopK, options.coarseTopK)
        options.useReranking = try body.bool("use_reranking") ?? true
        options.lexical = try body.bool("lexical") ?? true
        options.limit = try body.int("limit", range: 1...1000) ?? options.coarseTopK
        try checkQuery(query)
        let memory = self.memory, fixedOptions = options
        let response = try await gate.run { try await memory.retrieve(agentID: agent, query: query, options: fixedOptions) }
        metrics.recordRetrieval(response.timings, mode: "hybrid", fallback: response.fallbackReason != nil)
        return try .json(APIModels.RetrievalBody(response, agentID: agent, query: query))
    }

    @Sendable func retrieveBaseline(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let agent = try Self.agent(context)
        let body = try await JSONBody.read(request, limit: configuration.maxBodyBytes)
        try body.allowOnly(["query", "top_k"])
        let query = try body.requiredString("query")
        let topK = try body.int("top_k", range: 1...1000) ?? 10
        try checkQuery(query)
        let memory = self.memory
        let response = try await gate.run { try await memory.retrieveBaseline(agentID: agent, query: query, topK: topK) }
        metrics.recordRetrieval(response.timings, mode: "baseline", fallback: false)
        return try .json(APIModels.RetrievalBody(response, agentID: agent, query: query))
    }

    /// Queries share the episode text limit (the tokenizer reads only the first tokens, but the
    /// text is normalized whole).
    func checkQuery(_ query: String) throws {
        let limit = memory.store.configuration.maxTextBytes
        if query.utf8.count > limit {
            throw APIError(.contentTooLarge, "text_too_large", "query has \(query.utf8.count) bytes, over the limit of \(limit)")
        }
    }

    @Sendable func health(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let store = memory.store
        let service = memory.service
        func model(_ m: ColumnModel?) -> Any {
            guard let m else { return NSNull() }
            return ["column": m.column.name, "model_id": m.column.modelID, "dimension": m.column.dimension, "loaded": m.isLoaded]
        }
        let episodes = try store.episodeCount()
        return try .jsonObject([
            "status": "ok",
            "store": ["path": store.path, "open": true, "episodes": episodes, "schema_version": StoreSchema.latest],
            "models": ["fast": model(service.fastModel), "quality": model(service.qualityModel)],
        ])
    }

    @Sendable func metricsText(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let text = metrics.render(service: memory.service, store: memory.store)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    @Sendable func openAPI(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try .jsonObject(OpenAPIDocument.make(routes: routes))
    }
}

/// Opaque page cursors: base64url of the last episode's stored creation time and id.
enum PageCursor {
    static func encode(_ episode: Episode) -> String {
        let text = "\(SQLiteEpisodeStore.storedText(of: episode.createdAt))|\(episode.id)"
        return Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ cursor: String, agentID: String) throws -> Episode {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8),
              let bar = text.firstIndex(of: "|"), let date = SQLiteEpisodeStore.date(fromStoredText: String(text[..<bar])) else {
            throw APIError.invalid("cursor is not one this server issued")
        }
        return Episode(id: String(text[text.index(after: bar)...]), agentID: agentID, content: "-", createdAt: date)
    }
}

/// Counts requests and their latency by route template and status.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        context.logger.debug("request started", metadata: ["method": "\(request.method.rawValue)", "path": "\(request.uri.path)"])
        var status = 500
        defer {
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            metrics.recordRequest(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: status, seconds: seconds)
        }
        do {
            let response = try await next(request, context)
            status = response.status.code
            return response
        } catch {
            status = APIError.from(error).status.code
            throw error
        }
    }
}
