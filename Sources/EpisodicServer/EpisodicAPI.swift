import EpisodicMemory
import Foundation
import HTTPTypes
import Hummingbird
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

/// The EpisodicMemory HTTP API over one memory. Every route goes through the
/// ``EpisodicMemory`` facade.
public final class EpisodicAPI: Sendable {
    public let memory: EpisodicMemory
    public let configuration: APIConfiguration
    let metrics = ServerMetrics()
    let gate: ComputeGate
    let logger = Logger(label: "episodic.server")

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

    /// The operations, in the order the OpenAPI document lists them.
    var routes: [APIRoute] {
        [
            APIRoute(
                method: .post, path: "/agents/{agent_id}/episodes", operationID: "addEpisodes",
                summary: "Add one episode, or a batch as {\"episodes\": [...]}; vectors are computed (or taken from \"vectors\").",
                requestSchema: "AddEpisodesRequest", responseSchema: "AddEpisodesResponse", successStatus: 201,
                errors: [400, 409, 413, 422, 503], handler: addEpisodes),
            APIRoute(
                method: .get, path: "/agents/{agent_id}/episodes", operationID: "listEpisodes",
                summary: "The agent's episodes, newest first, a page at a time.",
                responseSchema: "EpisodePage",
                queryParameters: [
                    .init(
                        name: "limit", description: "page size (default 50)",
                        schema: ["type": .string("integer"), "minimum": .int(1), "maximum": .int(configuration.maxPageSize)]),
                    .init(name: "cursor", description: "next_cursor of the previous page", schema: ["type": .string("string")]),
                ],
                errors: [400], handler: listEpisodes),
            APIRoute(
                method: .get, path: "/agents/{agent_id}/episodes/{id}", operationID: "getEpisode",
                summary: "One episode.", responseSchema: "Episode", errors: [400, 404], handler: getEpisode),
            APIRoute(
                method: .delete, path: "/agents/{agent_id}/episodes/{id}", operationID: "deleteEpisode",
                summary: "Delete an episode and its vectors.", responseSchema: "Deleted", errors: [400, 404], handler: deleteEpisode),
            APIRoute(
                method: .post, path: "/agents/{agent_id}/retrieve-hybrid", operationID: "retrieveHybrid",
                summary:
                    "Two-stage retrieval: dense + BM25 candidates, reranked with the quality vectors (coarse fallback when unavailable).",
                requestSchema: "RetrieveHybridRequest", responseSchema: "RetrievalResponse",
                errors: [400, 404, 413, 503], handler: retrieveHybrid),
            APIRoute(
                method: .post, path: "/agents/{agent_id}/retrieve-baseline", operationID: "retrieveBaseline",
                summary: "Fast-vector search only (the A/B baseline).",
                requestSchema: "RetrieveBaselineRequest", responseSchema: "RetrievalResponse",
                errors: [400, 404, 413, 503], handler: retrieveBaseline),
            APIRoute(
                method: .get, path: "/health", operationID: "health",
                summary: "Store and model status.", responseSchema: "Health", errors: [], handler: health),
            APIRoute(
                method: .get, path: "/metrics", operationID: "metrics",
                summary: "Prometheus metrics (text format).", responseSchema: "PrometheusText", errors: [], handler: metricsText),
            APIRoute(
                method: .get, path: "/openapi.json", operationID: "openapi",
                summary: "This API's OpenAPI 3.1 document.", responseSchema: "OpenAPIDocument", errors: [], handler: openAPI),
        ]
    }
}
