import HTTPTypes
import Hummingbird

/// Refuses requests a browser could be tricked into sending: an unexpected `Host` (DNS rebinding:
/// a page on evil.example whose name now resolves to 127.0.0.1) and a body that is not declared
/// JSON (a cross-site form or `text/plain` POST is sent without a CORS preflight; requiring
/// `application/json` makes the browser ask first, and this server never says yes).
struct RequestGuardMiddleware<Context: RequestContext>: RouterMiddleware {
    let allowedHosts: Set<String>?
    /// Only the API's own routes need a JSON body (an unknown path stays a 404).
    let routes: RouteTemplates

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let allowedHosts {
            guard let host = request.head.authority else {
                throw APIError(.badRequest, "missing_host", "the request has no Host header")
            }
            guard allowedHosts.contains(Self.name(ofHost: host)) else {
                throw APIError(
                    .forbidden, "host_not_allowed",
                    "Host \(host.prefix(100)) is not one this server answers to (allowed: \(allowedHosts.sorted().joined(separator: ", ")))"
                )
            }
        }
        let hasBody =
            [.post, .put, .patch].contains(request.method)
            || (request.method == .delete && request.headers[.contentLength].map { $0 != "0" } == true)
        if hasBody, let methods = routes.methods(for: request.uri.path), methods.contains(request.method.rawValue) {
            let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
            guard type == "application/json" else {
                throw APIError(
                    .unsupportedMediaType, "unsupported_media_type",
                    "the body must be JSON sent with Content-Type: application/json (got \(type.map { "\($0)" } ?? "none"))")
            }
        }
        return try await next(request, context)
    }

    /// `Host` without its port, lowercase: `LOCALHOST:8080` → `localhost`, `[::1]:80` → `[::1]`.
    static func name(ofHost host: String) -> String {
        let lowered = host.lowercased()
        if lowered.hasPrefix("[") { return String(lowered.prefix { $0 != "]" }) + "]" }
        return String(lowered.split(separator: ":", maxSplits: 1).first ?? "")
    }
}
