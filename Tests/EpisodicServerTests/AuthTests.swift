import EpisodicMemory
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@testable import EpisodicServer

/// API keys through real HTTP on 127.0.0.1: every route × every kind of bad credential.
@Suite struct AuthTests {
    /// Every route of the API on agent `a` (or none), with a body where it takes one.
    static var routes: [(HTTPRequest.Method, String, [String: Any]?)] {
        [
            (.post, "/agents/a/episodes", ["content": "another note"]),
            (.get, "/agents/a/episodes", nil),
            (.delete, "/agents/a/episodes", ["filter": ["metadata": ["k": "v"]]]),
            (.get, "/agents/a/episodes/e1", nil),
            (.patch, "/agents/a/episodes/e1", ["metadata": ["seen": true]]),
            (.delete, "/agents/a/episodes/e2", nil),
            (.get, "/agents/a/export", nil),
            (.post, "/agents/a/retrieve-hybrid", ["query": "secret plans"]),
            (.post, "/agents/a/retrieve-baseline", ["query": "secret plans"]),
            (.delete, "/agents/a", nil),
            (.get, "/agents", nil),
            (.post, "/keys", ["agents": ["x"]]),
            (.get, "/keys", nil),
            (.delete, "/keys/0000000000000000", nil),
            (.post, "/mcp", ["jsonrpc": "2.0", "id": 1, "method": "tools/list"]),
            (.get, "/metrics", nil),
            (.get, "/openapi.json", nil),
        ]
    }

    static let secretText = "the launch code is 0451"

    static func request(
        _ client: any TestClientProtocol, _ route: (HTTPRequest.Method, String, [String: Any]?), key: String?
    ) async throws -> TestResponse {
        var headers: HTTPFields = route.2 == nil ? [:] : jsonHeaders
        if route.1 == "/mcp" { headers[.accept] = "application/json, text/event-stream" }
        if let key { headers[.authorization] = "Bearer \(key)" }
        return try await client.execute(uri: route.1, method: route.0, headers: headers, body: route.2.map(jsonBody))
    }

    @Test(arguments: Backend.allCases)
    func everyRouteRefusesEveryBadKeyAlike(_ backend: Backend) async throws {
        try await ServerFixture.with(api: { $0.authentication = .required }, backend: backend) { f in
            for (id, text) in [("e1", Self.secretText), ("e2", "second"), ("e3", "third")] {
                try await f.memory.add(Episode(id: id, agentID: "a", content: text), quality: .deferred)
            }
            try await f.memory.add(Episode(id: "b1", agentID: "b", content: "b's note"), quality: .deferred)
            let own = try await f.memory.createKey(name: "a", scope: APIKeyScope(agents: ["a"]))
            let other = try await f.memory.createKey(name: "b", scope: APIKeyScope(agents: ["b"]))
            let readOnly = try await f.memory.createKey(name: "ro", scope: APIKeyScope(agents: ["a"], readOnly: true))
            let revoked = try await f.memory.createKey(name: "gone", scope: APIKeyScope(agents: ["a"]))
            try await f.memory.revokeKey(id: revoked.record.id)
            let expiring = try await f.memory.createKey(
                name: "old", scope: APIKeyScope(agents: ["a"]), expiresAt: Date().addingTimeInterval(1))
            let admin = try await f.memory.createKey(name: "ops", scope: APIKeyScope(admin: true))
            try await Task.sleep(nanoseconds: 1_300_000_000)
            let wrong = own.secret.dropLast(4) + "AAAA"
            try await f.live { client in
                var unauthorizedBodies = Set<String>()
                for route in Self.routes {
                    for key in [nil, String(wrong), "epm_nothex_x", revoked.secret, expiring.secret] {
                        let response = try await Self.request(client, route, key: key)
                        #expect(response.status == .unauthorized, "\(route.0) \(route.1) with \(key?.prefix(8) ?? "no key")")
                        #expect(response.headers[.wwwAuthenticate] == "Bearer realm=\"episodic\"")
                        #expect(!response.text.contains(Self.secretText))
                        unauthorizedBodies.insert(response.text)
                    }
                }
                #expect(unauthorizedBodies.count == 1, "401 bodies differ: \(unauthorizedBodies)")
                for route in Self.routes where route.1.hasPrefix("/agents/a") {
                    let response = try await Self.request(client, route, key: other.secret)
                    #expect(response.status == .forbidden, "\(route.0) \(route.1) with another agent's key")
                    #expect(!response.text.contains(Self.secretText))
                    let write = route.0 != .get && !route.1.contains("retrieve")
                    let reading = try await Self.request(client, route, key: readOnly.secret)
                    #expect((reading.status == .forbidden) == write, "\(route.0) \(route.1) with a read-only key: \(reading.status)")
                }
                for route in Self.routes where route.1.hasPrefix("/keys") || route.1 == "/metrics" {
                    #expect(try await Self.request(client, route, key: own.secret).status == .forbidden, "\(route.1)")
                }
                // The key's own agent works (the deleting routes last).
                for route in Self.routes where route.1.hasPrefix("/agents/a") {
                    let response = try await Self.request(client, route, key: own.secret)
                    #expect(
                        response.status.code < 300 || response.status == .notFound,
                        "\(route.0) \(route.1): \(response.status) \(response.text)")
                }
                // Listing agents: another agent is indistinguishable from a missing one.
                let agents = try await Self.request(client, (.get, "/agents", nil), key: own.secret)
                #expect(agents.text.contains("\"a\"") == (try await f.memory.agentExists("a")) && !agents.text.contains("\"b\""))
                let all = try await Self.request(client, (.get, "/agents", nil), key: admin.secret)
                #expect(all.text.contains("\"b\""))
                #expect(try await Self.request(client, (.get, "/metrics", nil), key: admin.secret).status == .ok)
                // /health is open and says nothing private.
                let health = try await client.execute(uri: "/health", method: .get)
                #expect(health.status == .ok)
                #expect(!health.text.contains(f.directory.path("")) && !health.text.contains("episodes\":"))
                // Keys over HTTP with the admin key: create, use, revoke.
                let created = try await client.execute(
                    uri: "/keys", method: .post, headers: [.contentType: "application/json", .authorization: "Bearer \(admin.secret)"],
                    body: jsonBody(["agents": ["c"], "name": "made over http"]))
                #expect(created.status == .created)
                let secret = try #require(created.json["secret"] as? String)
                let keyID = try #require((created.json["key"] as? [String: Any])?["id"] as? String)
                let list = try await client.execute(uri: "/keys", method: .get, headers: [.authorization: "Bearer \(admin.secret)"])
                #expect(list.text.contains(keyID) && !list.text.contains(secret) && !list.text.contains(own.secret))
                let use = try await Self.request(client, (.post, "/agents/c/episodes", ["content": "hello"]), key: secret)
                #expect(use.status == .created)
                #expect(
                    try await client.execute(uri: "/keys/\(keyID)", method: .delete, headers: [.authorization: "Bearer \(admin.secret)"])
                        .status
                        == .ok)
                #expect(try await Self.request(client, (.get, "/agents/c/episodes", nil), key: secret).status == .unauthorized)
            }
            // The store keeps no secret in clear: only its SHA-256.
            let keys = try await f.memory.keys()
            #expect(keys.count == 7)
            if let path = f.sqlitePath {
                for suffix in ["", "-wal"] {
                    let bytes = FileManager.default.contents(atPath: path + suffix) ?? Data()
                    for issued in [own, other, readOnly, admin] {
                        // epm_<id>_<secret>: the secret's base64url may itself hold "_".
                        let secretPart = issued.secret.split(separator: "_", maxSplits: 2).last!
                        #expect(secretPart.count == 43)
                        #expect(bytes.range(of: Data(secretPart.utf8)) == nil)
                    }
                }
            }
            #expect(try await f.memory.authenticate(own.secret)?.id == own.record.id)
            #expect(try await f.memory.authenticate(revoked.secret) == nil)
            #expect(try await f.memory.authenticate(expiring.secret) == nil)
        }
    }
}
