import EpisodicMemory
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// Whether requests must carry an API key.
public enum AuthenticationMode: String, Sendable, CaseIterable {
    /// Every route but `/health` needs `Authorization: Bearer <key>`.
    case required
    /// No keys (only sensible on loopback).
    case off
}

/// The key of the request being handled (set by ``AuthMiddleware`` for the handlers below it).
enum RequestKey {
    @TaskLocal static var current: APIKeyRecord?
}

/// Enforces API keys on every route but `/health`: 401 — one body for a missing, malformed,
/// unknown, revoked or expired key, so that keys cannot be probed — and 403 when the key does not
/// cover the path's agent, when a read-only key writes, or when a non-admin key asks for an
/// admin route (`/metrics`, `/keys`).
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let memory: EpisodicMemory
    /// When each key's use was last recorded: at most one write per key per minute.
    let lastRecorded = KeyUseLog()

    static var unauthorized: APIError {
        APIError(
            .unauthorized, "unauthorized",
            "a valid API key is required: send Authorization: Bearer <key> (create one with `episodic keys create`)",
            headers: [.wwwAuthenticate: "Bearer realm=\"episodic\""])
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path == "/health" { return try await next(request, context) }
        guard let key = try await authenticate(request.headers[.authorization]) else { throw Self.unauthorized }
        if Self.isAdminPath(path), !key.scope.admin {
            throw APIError(.forbidden, "forbidden", "this route needs an admin key")
        }
        if let agent = Self.agent(inPath: path) {
            guard key.scope.allows(agent: agent) else {
                throw APIError(.forbidden, "forbidden", "this key does not cover that agent")
            }
            if key.scope.readOnly, Self.writes(request.method, path: path) {
                throw APIError(.forbidden, "forbidden", "this key is read-only")
            }
        }
        recordUse(of: key)
        return try await RequestKey.$current.withValue(key) { try await next(request, context) }
    }

    /// The key a `Bearer` header stands for, if any (every failure is nil: they are answered alike).
    func authenticate(_ header: String?) async throws -> APIKeyRecord? {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
        let token = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        return try await memory.authenticate(token)
    }

    private func recordUse(of key: APIKeyRecord) {
        let now = Date()
        let due = lastRecorded.seen.withLock { seen -> Bool in
            if let last = seen[key.id], now.timeIntervalSince(last) < 60 { return false }
            seen[key.id] = now
            return true
        }
        guard due else { return }
        let memory = self.memory
        Task { try? await memory.recordUse(ofKey: key.id, at: now) }
    }

    static func isAdminPath(_ path: String) -> Bool {
        path == "/metrics" || path == "/keys" || path.hasPrefix("/keys/")
    }

    /// The agent of an `/agents/{agent_id}…` path, percent-decoded as the router decodes it.
    static func agent(inPath path: String) -> String? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count >= 3, segments[0].isEmpty, segments[1] == "agents", !segments[2].isEmpty else { return nil }
        return String(segments[2]).removingPercentEncoding ?? String(segments[2])
    }

    /// Whether a request changes an agent's memory (retrievals are reads, though POSTed).
    static func writes(_ method: HTTPRequest.Method, path: String) -> Bool {
        switch method {
        case .get, .head, .options: return false
        case .post: return !(path.hasSuffix("/retrieve-hybrid") || path.hasSuffix("/retrieve-baseline"))
        default: return true
        }
    }
}

/// When each key's use was last written to the store.
final class KeyUseLog: Sendable {
    let seen = Mutex<[String: Date]>([:])
}
