import EpisodicMemory
import EpisodicWire
import Foundation
import HTTPTypes
import Hummingbird

/// An error answered as `{"error": {"code": …, "message": …}}` with an HTTP status.
public struct APIError: Error, Sendable, Equatable {
    public var status: HTTPResponse.Status
    /// A stable, machine-readable code (`not_found`, `invalid_request`, …).
    public var code: String
    public var message: String
    /// Extra response headers (`Allow` of a 405).
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    static func invalid(_ message: String) -> APIError { APIError(.badRequest, "invalid_request", message) }

    /// Runs a request decoder, answering its ``WireError`` with a 400 (a batch over the limit
    /// with a 413).
    static func fromWire<T>(_ decode: () throws(WireError) -> T) throws -> T {
        do {
            return try decode()
        } catch {
            if error.isTooLarge { throw APIError(.contentTooLarge, "batch_too_large", error.message) }
            throw invalid(error.message)
        }
    }

    /// Maps the library's typed errors onto statuses: 400 bad input, 404 unknown episode or agent,
    /// 413 too large, 422 dimension errors, 503 a required model that cannot be loaded or a server
    /// shutting down.
    static func from(_ error: Error) -> APIError {
        switch error {
        case let api as APIError:
            return api
        case let store as StoreError:
            switch store {
            case .episodeNotFound: return APIError(.notFound, "episode_not_found", store.description)
            case .unknownAgent: return APIError(.notFound, "agent_not_found", store.description)
            case .vector(.dimensionMismatch), .vector(.nonFiniteValue):
                return APIError(.unprocessableContent, "invalid_vector", store.description)
            case .vector(.unknownColumn): return APIError(.unprocessableContent, "unknown_column", store.description)
            case .textTooLarge: return APIError(.contentTooLarge, "text_too_large", store.description)
            case .invalidEpisode: return APIError(.badRequest, "invalid_episode", store.description)
            case .duplicateEpisode: return APIError(.conflict, "duplicate_episode", store.description)
            case .conflictingEpisode: return APIError(.conflict, "conflicting_episode", store.description)
            case .concurrentUpdate: return APIError(.conflict, "concurrent_update", store.description)
            case .invalidFilter: return APIError(.badRequest, "invalid_filter", store.description)
            case .busy, .unavailable: return APIError(.serviceUnavailable, "store_unavailable", store.description)
            case .modelMismatch: return APIError(.serviceUnavailable, "model_unavailable", store.description)
            case .readOnly: return APIError(.serviceUnavailable, "store_read_only", store.description)
            case .columnsChanged: return APIError(.serviceUnavailable, "columns_changed", store.description)
            case .corruptEpisode: return APIError(.internalServerError, "corrupt_episode", store.description)
            default: return APIError(.internalServerError, "store_error", store.description)
            }
        case let retrieval as RetrievalError:
            switch retrieval {
            case .modelUnavailable, .noColumn: return APIError(.serviceUnavailable, "model_unavailable", retrieval.description)
            case .emptyQuery, .invalidParameter: return APIError(.badRequest, "invalid_request", retrieval.description)
            }
        case let vector as VectorError:
            return APIError(.unprocessableContent, "invalid_vector", vector.description)
        case let stopped as EmbeddingBatcher.Stopped:
            // The server is shutting down: the client may retry elsewhere or later.
            return APIError(.serviceUnavailable, "shutting_down", stopped.description)
        case let embedding as EmbeddingError:
            if case .textTooLong = embedding { return APIError(.contentTooLarge, "text_too_large", embedding.description) }
            return APIError(.serviceUnavailable, "model_unavailable", embedding.description)
        case let http as HTTPError:
            switch http.status {
            case .notFound: return APIError(.notFound, "route_not_found", "no such route; see GET /openapi.json")
            case .methodNotAllowed: return APIError(.methodNotAllowed, "method_not_allowed", "method not allowed on this route")
            case .contentTooLarge: return APIError(.contentTooLarge, "body_too_large", http.body ?? "request body too large")
            default: return APIError(http.status, "http_error", http.body ?? http.status.reasonPhrase)
            }
        default:
            return APIError(.internalServerError, "internal_error", "\(error)")
        }
    }

    var response: Response {
        let body: [String: Any] = ["error": ["code": code, "message": message]]
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// The paths of the API with their methods, to tell an unknown path (404) from a known path asked
/// with another method (405).
struct RouteTemplates: Sendable {
    /// Path templates (`/agents/{agent_id}/episodes`) and their methods.
    let routes: [(template: [Substring], methods: [String])]

    init(_ routes: [APIRoute]) {
        var byPath: [String: [String]] = [:]
        for route in routes { byPath[route.path, default: []].append(route.method.rawValue) }
        self.routes = byPath.map { (Array($0.key.split(separator: "/")), $0.value.sorted()) }
    }

    /// The methods of the route whose template matches `path`, if any.
    func methods(for path: String) -> [String]? {
        let segments = path.split(separator: "/")
        return routes.first { route in
            route.template.count == segments.count
                && zip(route.template, segments).allSatisfy { template, segment in template.hasPrefix("{") || template == segment }
        }?.methods
    }
}

/// Turns every error — thrown by a handler, or the router's "not found" — into the JSON error
/// shape and status; a known path asked with another method is a 405 with `Allow`.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteTemplates

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            var api = APIError.from(error)
            if api.status == .notFound, api.code == "route_not_found", let allowed = routes.methods(for: request.uri.path) {
                api = APIError(
                    .methodNotAllowed, "method_not_allowed",
                    "\(request.method.rawValue) is not allowed here; allowed: \(allowed.joined(separator: ", "))",
                    headers: [.allow: allowed.joined(separator: ", ")])
            }
            if api.status == .internalServerError {
                context.logger.error("request failed: \(error)", metadata: ["path": "\(request.uri.path)"])
            }
            return api.response
        }
    }
}
