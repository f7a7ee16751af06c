import Crypto
import EpisodeStore
import Foundation

/// A newly created API key: the secret, shown once, and what the store keeps.
public struct IssuedAPIKey: Sendable {
    /// `epm_<id>_<secret>`: give it as `Authorization: Bearer <key>`. Not stored anywhere.
    public var secret: String
    public var record: APIKeyRecord
}

/// Why a key cannot be created.
public enum APIKeyError: Error, Equatable, Sendable, CustomStringConvertible {
    case emptyScope
    case invalidAgent(String)
    case expiryInThePast(Date)
    case unknownKey(String)

    public var description: String {
        switch self {
        case .emptyScope: return "a key needs a scope: give --agent, --agent-prefix or --admin"
        case .invalidAgent(let reason): return "invalid agent in the scope: \(reason)"
        case .expiryInThePast(let date): return "the expiry \(EpisodeTime.rfc3339(date)) is in the past"
        case .unknownKey(let id): return "no API key with id \(id)"
        }
    }
}

extension EpisodicMemory {
    /// The recognisable start of every key (secret scanners can look for it).
    public static let keyPrefix = "epm_"

    /// Creates a key with 256 bits of randomness; the store keeps only its SHA-256.
    public func createKey(name: String, scope: APIKeyScope, expiresAt: Date? = nil) async throws -> IssuedAPIKey {
        guard scope.admin || !scope.agents.isEmpty || !scope.agentPrefixes.isEmpty else { throw APIKeyError.emptyScope }
        for agent in scope.agents {
            if let problem = EpisodeRules.identifierProblem(agent) { throw APIKeyError.invalidAgent("\(agent): \(problem)") }
        }
        let now = EpisodeTime.truncated(Date())
        if let expiresAt, expiresAt <= now { throw APIKeyError.expiryInThePast(expiresAt) }
        var generator = SystemRandomNumberGenerator() // getrandom(2): a cryptographic source
        let id = (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        let secretBytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let secret =
            Self.keyPrefix + id + "_"
            + Data(secretBytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let record = APIKeyRecord(
            id: id, name: name, secretSHA256: Self.digest(secret), scope: scope, createdAt: now,
            expiresAt: expiresAt.map(EpisodeTime.truncated))
        try await store.insertKey(record)
        return IssuedAPIKey(secret: secret, record: record)
    }

    /// The key a bearer token stands for, if it is one of this store's, valid now; nil for
    /// anything else (malformed, unknown, wrong secret, revoked, expired) — callers answer all of
    /// them alike. The digests are compared in constant time.
    public func authenticate(_ token: String, at date: Date = Date()) async throws -> APIKeyRecord? {
        guard token.hasPrefix(Self.keyPrefix), token.utf8.count < 200 else { return nil }
        let rest = token.dropFirst(Self.keyPrefix.count)
        guard let underscore = rest.firstIndex(of: "_") else { return nil }
        let id = String(rest[..<underscore])
        guard id.count == 16, id.allSatisfy(\.isHexDigit), let record = try await store.key(id: id) else { return nil }
        guard Self.constantTimeEqual(Self.digest(token), record.secretSHA256), record.isValid(at: date) else { return nil }
        return record
    }

    /// Every key (secrets are not stored: only ids, names, scopes and dates), newest first.
    public func keys() async throws -> [APIKeyRecord] { try await store.keys() }

    /// Revokes a key at once; ``APIKeyError/unknownKey(_:)`` when there is no such key.
    public func revokeKey(id: String) async throws {
        guard try await store.revokeKey(id: id, at: Date()) else {
            if try await store.key(id: id) == nil { throw APIKeyError.unknownKey(id) }
            return // revoked already
        }
    }

    /// Records that a key was used (callers throttle this: it is a write).
    public func recordUse(ofKey id: String, at date: Date = Date()) async throws { try await store.touchKey(id: id, at: date) }

    static func digest(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Data(token.utf8))) }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}
