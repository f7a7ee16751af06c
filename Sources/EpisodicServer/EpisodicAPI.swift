import EpisodicMemory
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
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
    /// number of cores — or, when the memory batches embeddings (``EmbeddingBatcher``), 64, so that
    /// concurrent requests can share forward passes.
    public var concurrentComputations: Int?
    /// `Host` header values accepted (names without the port, lowercase); nil accepts any. A server
    /// on loopback accepts only loopback names by default, so that a web page whose DNS name was
    /// rebound to 127.0.0.1 cannot reach it.
    public var allowedHosts: Set<String>? = APIConfiguration.loopbackHosts
    /// A request body must arrive within this many seconds (408 beyond).
    public var bodyTimeoutSeconds: Double = 30
    /// A connection with no request activity for this long is closed (idle and half-sent ones).
    public var idleTimeoutSeconds: Double = 30
    /// API keys: required on every route but `/health`, or off (loopback only; `serve` enforces it).
    public var authentication = AuthenticationMode.off

    /// The names of this machine's loopback interface.
    public static let loopbackHosts: Set<String> = ["localhost", "127.0.0.1", "::1", "[::1]"]

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
        gate = ComputeGate(
            permits: configuration.concurrentComputations
                ?? (memory.service.batcher != nil ? 64 : ProcessInfo.processInfo.activeProcessorCount))
    }

    /// A router with every route, the JSON error middleware and request metrics.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        let templates = RouteTemplates(routes)
        router.add(middleware: ErrorMiddleware(routes: templates))
        router.add(middleware: RequestGuardMiddleware(allowedHosts: configuration.allowedHosts, routes: templates))
        if configuration.authentication == .required { router.add(middleware: AuthMiddleware(memory: memory)) }
        for route in routes {
            router.on(RouterPath(route.routerPath), method: route.method, use: route.handler)
        }
        return router
    }

    /// The HTTP/1.1 server this API runs on: connections idle (or half-sent) for
    /// ``APIConfiguration/idleTimeoutSeconds`` are closed.
    public var server: HTTPServerBuilder {
        .http1(configuration: .init(idleTimeout: .nanoseconds(Int64(configuration.idleTimeoutSeconds * 1e9))))
    }

    var compactParameter: APIRoute.QueryParameter {
        .init(
            name: "compact",
            description: "after deleting, rewrite the store (SQLite: VACUUM) so that the deleted text is gone from its files too",
            schema: ["type": .string("boolean")])
    }

    /// The operations, in the order the OpenAPI document lists them.
    var routes: [APIRoute] {
        [
            APIRoute(
                method: .post, path: "/agents/{agent_id}/episodes", operationID: "addEpisodes",
                summary:
                    "Add one episode, or a batch as {\"episodes\": [...]}; vectors are computed (or taken from \"vectors\"). A client-chosen id makes the write idempotent (200 with created false when it exists with the same content, 409 with other content); \"dedup\": true returns the agent's episode with the same normalised content.",
                requestSchema: "AddEpisodesRequest", responseSchema: "AddEpisodesResponse", successStatus: 201, alternateSuccessStatus: 200,
                errors: [400, 409, 413, 422, 503], handler: addEpisodes),
            APIRoute(
                method: .get, path: "/agents/{agent_id}/episodes", operationID: "listEpisodes",
                summary: "The agent's episodes (passing a filter), newest first by creation or update time, a page at a time.",
                responseSchema: "EpisodePage",
                queryParameters: [
                    .init(
                        name: "limit", description: "page size (default 50)",
                        schema: ["type": .string("integer"), "minimum": .int(1), "maximum": .int(configuration.maxPageSize)]),
                    .init(name: "cursor", description: "next_cursor of the previous page", schema: ["type": .string("string")]),
                    .init(
                        name: "order", description: "created_at (default) or updated_at",
                        schema: ["type": .string("string"), "enum": .strings(["created_at", "updated_at"])]),
                    .init(
                        name: "filter", description: "an EpisodeFilter as JSON text (see the schema EpisodeFilter)",
                        schema: ["type": .string("string")]),
                    .init(
                        name: "created_after", description: "RFC 3339; only episodes created strictly after",
                        schema: ["type": .string("string"), "format": .string("date-time")]),
                    .init(
                        name: "created_before", description: "RFC 3339; only episodes created strictly before",
                        schema: ["type": .string("string"), "format": .string("date-time")]),
                ],
                errors: [400], handler: listEpisodes),
            APIRoute(
                method: .delete, path: "/agents/{agent_id}/episodes", operationID: "deleteEpisodes",
                summary:
                    "Delete the agent's episodes that pass a filter ({\"filter\": {...}}, required); ?compact=true rewrites the store afterwards.",
                requestSchema: "DeleteEpisodesRequest", responseSchema: "DeletedCount",
                queryParameters: [compactParameter], errors: [400, 404, 413, 415], handler: deleteEpisodes),
            APIRoute(
                method: .get, path: "/agents/{agent_id}/episodes/{id}", operationID: "getEpisode",
                summary: "One episode.", responseSchema: "Episode", errors: [400, 404], handler: getEpisode),
            APIRoute(
                method: .patch, path: "/agents/{agent_id}/episodes/{id}", operationID: "updateEpisode",
                summary:
                    "Change content, summary or metadata (merge or replace); vectors of changed text are recomputed in the same transaction.",
                requestSchema: "EpisodePatch", responseSchema: "Episode", errors: [400, 404, 409, 413, 415], handler: updateEpisode),
            APIRoute(
                method: .delete, path: "/agents/{agent_id}/episodes/{id}", operationID: "deleteEpisode",
                summary: "Delete an episode and its vectors.", responseSchema: "Deleted", errors: [400, 404], handler: deleteEpisode),
            APIRoute(
                method: .delete, path: "/agents/{agent_id}", operationID: "forgetAgent",
                summary:
                    "Forget an agent: every episode, vector, text index entry and cached vector; ?compact=true rewrites the store so that nothing of it stays in its files.",
                responseSchema: "DeletedCount", queryParameters: [compactParameter], errors: [400, 404], handler: forgetAgent),
            APIRoute(
                method: .get, path: "/agents/{agent_id}/export", operationID: "exportAgent",
                summary: "The agent's episodes as JSON lines (application/x-ndjson), newest first — what `episodic import` reads.",
                responseSchema: "ExportLines",
                queryParameters: [
                    .init(name: "vectors", description: "include the stored vectors (default false)", schema: ["type": .string("boolean")])
                ], errors: [400, 404], handler: exportAgent),
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
                method: .get, path: "/agents", operationID: "listAgents",
                summary: "The agents (those the key covers) and their episode counts.", responseSchema: "AgentList", errors: [401],
                handler: listAgents),
            APIRoute(
                method: .post, path: "/keys", operationID: "createKey",
                summary: "Create an API key (admin key; --auth required); the secret is in this response only.",
                requestSchema: "KeyRequest", responseSchema: "CreatedKey", successStatus: 201, errors: [400, 401, 403, 415],
                handler: createKey),
            APIRoute(
                method: .get, path: "/keys", operationID: "listKeys", summary: "Every API key (no secrets).", responseSchema: "KeyList",
                errors: [401, 403], handler: listKeys),
            APIRoute(
                method: .delete, path: "/keys/{key_id}", operationID: "revokeKey", summary: "Revoke an API key at once.",
                responseSchema: "Revoked", errors: [401, 403, 404], handler: revokeKey),
            APIRoute(
                method: .post, path: "/mcp", operationID: "mcp",
                summary:
                    "Model Context Protocol (streamable HTTP, JSON responses): tools remember, recall, forget, recent; the agent is the key's.",
                requestSchema: "JSONRPCMessage", responseSchema: "JSONRPCMessage", errors: [400, 401, 403, 415], handler: mcp),
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
