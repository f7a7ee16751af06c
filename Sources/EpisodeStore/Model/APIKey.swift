import Foundation

/// What an API key may do: the agents whose memory it reads (and, unless read-only, writes), and
/// whether it administers the server (keys, metrics — and every agent).
public struct APIKeyScope: Sendable, Equatable {
    /// Agents by exact id.
    public var agents: Set<String>
    /// Agents whose id starts with one of these (`team-a/` covers `team-a/planner`).
    public var agentPrefixes: [String]
    /// Reads only: adding, changing or deleting episodes is refused (403).
    public var readOnly: Bool
    /// Key management and `/metrics`, and every agent.
    public var admin: Bool

    public init(agents: Set<String> = [], agentPrefixes: [String] = [], readOnly: Bool = false, admin: Bool = false) {
        self.agents = agents
        self.agentPrefixes = agentPrefixes
        self.readOnly = readOnly
        self.admin = admin
    }

    /// Whether the key reaches `agent`'s memory.
    public func allows(agent: String) -> Bool {
        admin || agents.contains(agent) || agentPrefixes.contains { agent.hasPrefix($0) }
    }

    /// The one agent the key is for, when it names exactly one and nothing else (an MCP
    /// connection is then bound to it without being told).
    public var soleAgent: String? { !admin && agentPrefixes.isEmpty && agents.count == 1 ? agents.first : nil }

    /// Human-readable, for `keys list`.
    public var summary: String {
        var parts: [String] = []
        if admin { parts.append("admin (every agent)") }
        if !agents.isEmpty { parts.append("agents " + agents.sorted().joined(separator: ", ")) }
        if !agentPrefixes.isEmpty { parts.append("prefixes " + agentPrefixes.map { "\($0)*" }.joined(separator: ", ")) }
        if readOnly { parts.append("read-only") }
        return parts.isEmpty ? "nothing" : parts.joined(separator: "; ")
    }
}

/// An API key as the store keeps it: never the secret, only its SHA-256.
public struct APIKeyRecord: Sendable, Equatable {
    /// The public part of the key (in the key itself, so that a lookup needs no secret).
    public var id: String
    public var name: String
    /// SHA-256 of the whole key text.
    public var secretSHA256: [UInt8]
    public var scope: APIKeyScope
    public var createdAt: Date
    public var lastUsedAt: Date?
    public var expiresAt: Date?
    public var revokedAt: Date?

    public init(
        id: String, name: String, secretSHA256: [UInt8], scope: APIKeyScope, createdAt: Date, lastUsedAt: Date? = nil,
        expiresAt: Date? = nil, revokedAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.secretSHA256 = secretSHA256
        self.scope = scope
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }

    /// Whether the key is usable at `date` (not revoked, not expired).
    public func isValid(at date: Date) -> Bool {
        revokedAt == nil && (expiresAt.map { date < $0 } ?? true)
    }

    /// The scope as stored: a JSON object (`agents`, `agent_prefixes`, `read_only`, `admin`).
    public var scopeJSON: String {
        JSONValue.object([
            "agents": .array(scope.agents.sorted().map(JSONValue.string)),
            "agent_prefixes": .array(scope.agentPrefixes.map(JSONValue.string)),
            "read_only": .bool(scope.readOnly), "admin": .bool(scope.admin),
        ]).jsonText
    }

    /// The scope from its stored JSON; nil when it is not one.
    public static func scope(fromJSON text: String) -> APIKeyScope? {
        guard let object = try? JSONParser(maxDepth: 4).parse(Array(text.utf8)).objectValue,
            let agents = object["agents"]?.arrayValue, let prefixes = object["agent_prefixes"]?.arrayValue,
            case .bool(let readOnly)? = object["read_only"], case .bool(let admin)? = object["admin"]
        else { return nil }
        return APIKeyScope(
            agents: Set(agents.compactMap(\.stringValue)), agentPrefixes: prefixes.compactMap(\.stringValue), readOnly: readOnly,
            admin: admin)
    }
}
