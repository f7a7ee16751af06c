import EpisodicMemory
import EpisodicWire
import Foundation
import Hummingbird

extension EpisodicAPI {
    /// The agents this request may see, with their episode counts: with keys on, only those the
    /// key covers — another agent is indistinguishable from one that does not exist.
    @Sendable func listAgents(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let key = RequestKey.current
        let counts = try await memory.agentEpisodeCounts().filter { key?.scope.allows(agent: $0.key) ?? true }
        let agents = counts.keys.sorted().map { JSONValue.object(["agent_id": .string($0), "episodes": .number(JSONNumber(counts[$0]!))]) }
        return .json(.object(["agents": .array(agents)]))
    }

    @Sendable func createKey(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try requireKeys()
        let body = try await RequestInput.body(request, limit: configuration.maxBodyBytes, timeout: configuration.bodyTimeoutSeconds)
        let (name, scope, expires) = try APIError.fromWire { () throws(WireError) in
            try body.allowOnly(["name", "agents", "agent_prefixes", "read_only", "admin", "expires_at"])
            var scope = APIKeyScope()
            for (i, value) in (try body.array("agents") ?? []).enumerated() {
                guard let agent = value.stringValue else { throw WireError("\"agents\"[\(i)] must be a string") }
                scope.agents.insert(agent)
            }
            for (i, value) in (try body.array("agent_prefixes") ?? []).enumerated() {
                guard let prefix = value.stringValue, !prefix.isEmpty else {
                    throw WireError("\"agent_prefixes\"[\(i)] must be a non-empty string")
                }
                scope.agentPrefixes.append(prefix)
            }
            scope.readOnly = try body.bool("read_only") ?? false
            scope.admin = try body.bool("admin") ?? false
            var expires: Date?
            if let value = body.fields["expires_at"], !value.isNull { expires = try EpisodeWire.date(value, field: "\"expires_at\"") }
            return (try body.string("name") ?? "", scope, expires)
        }
        let issued: IssuedAPIKey
        do { issued = try await memory.createKey(name: name, scope: scope, expiresAt: expires) } catch let error as APIKeyError {
            throw APIError.invalid(error.description)
        }
        var out = "{\"key\":"
        Self.writeKey(issued.record, into: &out)
        out += ",\"secret\":"
        JSONWriter.writeString(issued.secret, into: &out)
        out += "}"
        return .json(out, status: .created)
    }

    @Sendable func listKeys(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try requireKeys()
        var out = "{\"keys\":["
        for (i, key) in try await memory.keys().enumerated() {
            if i > 0 { out += "," }
            Self.writeKey(key, into: &out)
        }
        return .json(out + "]}")
    }

    @Sendable func revokeKey(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try requireKeys()
        guard let id = context.parameters.get("key_id") else { throw APIError.invalid("missing key id") }
        do { try await memory.revokeKey(id: id) } catch let error as APIKeyError {
            throw APIError(.notFound, "key_not_found", error.description)
        }
        return .json(.object(["revoked": .string(id)]))
    }

    /// Key management over HTTP exists only where keys are enforced.
    func requireKeys() throws {
        guard configuration.authentication == .required else {
            throw APIError(.forbidden, "forbidden", "keys are managed over HTTP only with --auth required; use `episodic keys`")
        }
    }

    /// A key's public facts (never its secret or digest).
    static func writeKey(_ key: APIKeyRecord, into out: inout String) {
        func date(_ d: Date?) -> JSONValue { d.map { .string(EpisodeTime.rfc3339($0)) } ?? .null }
        JSONWriter.write(
            .object([
                "id": .string(key.id), "name": .string(key.name),
                "agents": .array(key.scope.agents.sorted().map(JSONValue.string)),
                "agent_prefixes": .array(key.scope.agentPrefixes.map(JSONValue.string)),
                "read_only": .bool(key.scope.readOnly), "admin": .bool(key.scope.admin),
                "created_at": date(key.createdAt), "last_used_at": date(key.lastUsedAt), "expires_at": date(key.expiresAt),
                "revoked_at": date(key.revokedAt),
            ]), into: &out)
    }
}
