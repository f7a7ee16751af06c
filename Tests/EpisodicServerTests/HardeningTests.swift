import EpisodicMemory
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@testable import EpisodicServer

/// Regression tests of the hardening issue, each through real HTTP on 127.0.0.1: nothing accepted
/// can make a later read fail, no input is changed silently, one request never takes a memory down.
@Suite struct HardeningTests {
    func post(_ client: any TestClientProtocol, _ uri: String, _ body: Any) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .post, headers: jsonHeaders, body: jsonBody(body))
    }

    func postText(_ client: any TestClientProtocol, _ uri: String, _ text: String) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .post, headers: jsonHeaders, body: ByteBuffer(string: text))
    }

    /// Item 1: a year of 10000 is refused, and a row another program damaged does not make the
    /// agent's memory, or the server, unusable.
    @Test func datesOutsideTheRangeAreRefusedAndADamagedRowIsReportedNotFatal() async throws {
        try await ServerFixture.with { f in
            try await f.live { client in
                let far = try await post(client, "/agents/x/episodes", ["content": "a", "created_at": "10000-01-01T00:00:00Z"])
                #expect(far.status == .badRequest && far.errorMessage.contains("outside the supported range"))
                let unix = try await post(client, "/agents/x/episodes", ["content": "a", "created_at": 253_402_300_800])
                #expect(unix.status == .badRequest)
                #expect(try await post(client, "/agents/x/episodes", ["id": "ok", "content": "fine"]).status == .created)
                #expect(try await post(client, "/agents/x/episodes", ["id": "bad", "content": "damaged"]).status == .created)
                // Another program writes a date no episodic can read.
                let queue = try DatabaseQueue(path: f.memory.location)
                try await queue.write { db in
                    try db.execute(sql: "UPDATE episodes SET created_at = '10000-01-01 00:00:00.000' WHERE id = 'bad'")
                }
                try queue.close()
                let get = try await client.execute(uri: "/agents/x/episodes/bad", method: .get)
                #expect(
                    get.status == .internalServerError && get.errorCode == "corrupt_episode" && get.errorMessage.contains("episode bad"))
                let list = try await client.execute(uri: "/agents/x/episodes", method: .get)
                #expect(list.status == .ok && (list.json["episodes"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["ok"])
                let retrieve = try await post(client, "/agents/x/retrieve-hybrid", ["query": "damaged"])
                #expect(retrieve.status == .ok)
                #expect(try await client.execute(uri: "/agents/x/episodes/bad", method: .delete).status == .ok)
                #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
            }
        }
    }

    /// Item 3: NUL is refused with a message that says so, in content and summary.
    /// A request that reaches the embedding engine after it stopped (a store closing under it)
    /// is a 503 the client can retry, not a 500.
    @Test func aStoppedEmbeddingEngineIs503() {
        let error = APIError.from(EmbeddingBatcher.Stopped())
        #expect(error.status == .serviceUnavailable && error.code == "shutting_down")
        #expect(error.message.contains("stopped"))
    }

    @Test func nulCharactersAreRefusedNotTruncated() async throws {
        try await ServerFixture.with { f in
            try await f.live { client in
                for body in [["content": "before\u{0}after"], ["content": "\u{0}hidden"], ["content": "ok", "summary": "s\u{0}"]] {
                    let response = try await post(client, "/agents/a/episodes", body)
                    #expect(response.status == .badRequest && response.errorMessage.contains("NUL"), "\(body)")
                }
                #expect(try await f.memory.agentEpisodeCounts().isEmpty)
            }
        }
    }

    /// Item 4: deep metadata is refused at the door; the agent stays readable.
    @Test func deeplyNestedMetadataIsRefused() async throws {
        try await ServerFixture.with { f in
            try await f.live { client in
                func nested(_ depth: Int) -> String {
                    String(repeating: "{\"k\":", count: depth) + "1" + String(repeating: "}", count: depth)
                }
                let deep = try await postText(client, "/agents/a/episodes", "{\"content\": \"c\", \"metadata\": \(nested(511))}")
                #expect(deep.status == .badRequest && deep.errorMessage.contains("nested deeper than"))
                let over = try await postText(client, "/agents/a/episodes", "{\"content\": \"c\", \"metadata\": \(nested(40))}")
                #expect(over.status == .badRequest && over.errorMessage.contains("metadata nests"))
                let fine = try await postText(
                    client, "/agents/a/episodes", "{\"id\": \"fine\", \"content\": \"c\", \"metadata\": \(nested(10))}")
                #expect(fine.status == .created)
                #expect(try await client.execute(uri: "/agents/a/episodes", method: .get).status == .ok)
                #expect(try await client.execute(uri: "/agents/a/episodes/fine", method: .get).status == .ok)
            }
        }
    }

    /// Item 5: path parameters are percent-decoded once and checked like body fields; every id a
    /// body may carry can be fetched and deleted by its URL.
    @Test func pathsArePercentDecoded() async throws {
        try await ServerFixture.with { f in
            try await f.live { client in
                #expect(try await post(client, "/agents/%C3%A9l%C3%A8ve/episodes", ["id": "e1", "content": "c"]).status == .created)
                let got = try await client.execute(uri: "/agents/%C3%A9l%C3%A8ve/episodes/e1", method: .get)
                #expect(got.status == .ok && got.json["agent_id"] as? String == "élève")
                #expect(try await f.memory.agentEpisodeCounts() == ["élève": 1])
                #expect(try await post(client, "/agents/%61lice/episodes", ["id": "same", "content": "c"]).status == .created)
                #expect(try await client.execute(uri: "/agents/alice/episodes/same", method: .get).status == .ok)
                for id in ["with space", "a/b", "what?", "1+1", "100%", "café", "#hash"] {
                    #expect(try await post(client, "/agents/alice/episodes", ["id": id, "content": "c"]).status == .created, "\(id)")
                    let encoded = id.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                    let fetched = try await client.execute(uri: "/agents/alice/episodes/\(encoded)", method: .get)
                    #expect(fetched.status == .ok && fetched.json["id"] as? String == id, "\(id) → \(encoded): \(fetched.status)")
                    #expect(try await client.execute(uri: "/agents/alice/episodes/\(encoded)", method: .delete).status == .ok, "\(id)")
                }
                let invalid = try await client.execute(uri: "/agents/%ZZ/episodes", method: .get)
                #expect(invalid.status == .badRequest)
                let control = try await client.execute(uri: "/agents/a%0Ab/episodes", method: .get)
                #expect(control.status == .badRequest && control.errorMessage.contains("control characters"))
            }
        }
    }

    /// Items 6 and 7: numbers and dates round-trip exactly, or are refused.
    @Test func metadataNumbersRoundTripAndImpossibleDatesAreRefused() async throws {
        try await ServerFixture.with { f in
            try await f.live { client in
                let body = #"{"id": "n", "content": "c", "metadata": {"big": 9007199254740993, "zero": -0.0, "e": 6.02e23}}"#
                #expect(try await postText(client, "/agents/a/episodes", body).status == .created)
                let text = try await client.execute(uri: "/agents/a/episodes/n", method: .get).text
                #expect(text.contains(#""big":9007199254740993"#) && text.contains(#""zero":-0.0"#) && text.contains(#""e":6.02e23"#))
                for date in ["2024-02-30T00:00:00Z", "-0001-01-01T00:00:00Z", "2023-02-29T12:00:00Z", "2024-13-01T00:00:00Z"] {
                    let response = try await post(client, "/agents/a/episodes", ["content": "c", "created_at": date])
                    #expect(response.status == .badRequest, "\(date)")
                }
                #expect(
                    try await post(
                        client, "/agents/a/episodes", ["content": "c", "metadata": ["x": 1], "created_at": "2024-02-29T23:59:59.999Z"]
                    ).status == .created)
                let overflow = try await postText(client, "/agents/a/episodes", #"{"content": "c", "metadata": {"x": 1e400}}"#)
                #expect(overflow.status == .badRequest && overflow.errorMessage.contains("too large"))
            }
        }
    }

    /// Item 11: ids are per agent; another agent's id is never revealed.
    @Test func anotherAgentsIDIsNeitherRevealedNorTaken() async throws {
        try await ServerFixture.with { f in
            try await f.live { client in
                #expect(try await post(client, "/agents/b/episodes", ["id": "plan", "content": "b's plan"]).status == .created)
                let a = try await post(client, "/agents/a/episodes", ["id": "plan", "content": "a's plan"])
                #expect(a.status == .created)
                #expect(try await client.execute(uri: "/agents/b/episodes/plan", method: .get).json["content"] as? String == "b's plan")
                #expect(try await client.execute(uri: "/agents/a/episodes/plan", method: .get).json["content"] as? String == "a's plan")
                let again = try await post(client, "/agents/a/episodes", ["id": "plan", "content": "again"])
                #expect(again.status == .conflict)
            }
        }
    }

    /// Item 12: idle and half-sent connections are closed, foreign Hosts and non-JSON bodies are
    /// refused, a huge query is not echoed whole, a slow body times out.
    @Test func connectionsHostsAndContentTypes() async throws {
        try await ServerFixture.with { f in
            try await f.live { client in
                let port = try #require(client.port)
                let rebound = try await RawHTTP.exchange(
                    port: port, "GET /health HTTP/1.1\r\nHost: evil.example:\(port)\r\nConnection: close\r\n\r\n")
                #expect(rebound.hasPrefix("HTTP/1.1 403") && rebound.contains("host_not_allowed"))
                let local = try await RawHTTP.exchange(
                    port: port, "GET /health HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n")
                #expect(local.hasPrefix("HTTP/1.1 200"))
                let form = try await client.execute(
                    uri: "/agents/a/episodes", method: .post, headers: [.contentType: "text/plain"],
                    body: ByteBuffer(string: #"{"content": "planted"}"#))
                #expect(form.status == .unsupportedMediaType)
                let none = try await client.execute(
                    uri: "/agents/a/episodes", method: .post, body: ByteBuffer(string: #"{"content": "planted"}"#))
                #expect(none.status == .unsupportedMediaType)
                #expect(try await f.memory.agentEpisodeCounts().isEmpty)

                #expect(try await post(client, "/agents/a/episodes", ["content": "Booked a flight"]).status == .created)
                let huge = String(repeating: "flight ", count: 140_000) // 980 kB: under the 1 MiB text limit
                let answer = try await post(client, "/agents/a/retrieve-baseline", ["query": huge, "top_k": 1])
                #expect(
                    answer.status == .ok && (answer.json["query"] as? String)?.count == 1000
                        && answer.json["query_truncated"] as? Bool == true)
                #expect(answer.body.readableBytes < 20_000)
            }
        }
    }

    /// Item 12: idle and half-sent connections, and bodies that never complete, do not stay open.
    @Test func idleHalfSentAndSlowConnectionsAreClosed() async throws {
        try await ServerFixture.with(api: {
            $0.idleTimeoutSeconds = 1; $0.bodyTimeoutSeconds = 1
        }) { f in
            try await f.live { client in
                let port = try #require(client.port)
                let idle = try RawHTTP(port: port)
                let idleStart = Date()
                #expect(await idle.readUntilClosed(seconds: 8).closed)
                #expect(Date().timeIntervalSince(idleStart) < 6)
                let halfHeader = try RawHTTP(port: port)
                try halfHeader.send("GET /health HTTP/1.1\r\nHost: localhost\r\n")
                #expect(await halfHeader.readUntilClosed(seconds: 8).closed)
                let slowBody = try RawHTTP(port: port)
                try slowBody.send(
                    "POST /agents/a/episodes HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"content\""
                )
                let slow = await slowBody.readUntilClosed(seconds: 8)
                #expect(slow.closed && (slow.text.isEmpty || slow.text.hasPrefix("HTTP/1.1 408")), "\(slow.text)")

            }
        }
    }

    /// Item 13: another method on a known path is a 405 with `Allow`; the OpenAPI document states
    /// the limits the server enforces.
    @Test func wrongMethodsAre405AndTheDocumentStatesTheLimits() async throws {
        try await ServerFixture.with { f in
            try await f.live { client in
                for method in [HTTPRequest.Method.put, .patch] {
                    let response = try await client.execute(
                        uri: "/agents/a/episodes", method: method, headers: jsonHeaders, body: jsonBody([:]))
                    #expect(response.status == .methodNotAllowed, "\(method)")
                    #expect(response.headers[.allow] == "DELETE, GET, POST", "\(method)")
                }
                let port = try #require(client.port)
                let trace = try await RawHTTP.exchange(
                    port: port, "TRACE /agents/a/episodes HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                #expect(trace.hasPrefix("HTTP/1.1 405") && trace.lowercased().contains("allow: delete, get, post"), "\(trace)")
                let health = try await client.execute(uri: "/health", method: .delete)
                #expect(health.status == .methodNotAllowed && health.headers[.allow] == "GET")
                #expect(
                    try await client.execute(uri: "/nothing/here", method: .put, headers: jsonHeaders, body: jsonBody([:])).status
                        == .notFound)
                let document = try await client.execute(uri: "/openapi.json", method: .get).json
                let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: [String: Any]])
                let hybrid = try #require(schemas["RetrieveHybridRequest"]?["properties"] as? [String: [String: Any]])
                #expect(hybrid["coarse_top_k"]?["minimum"] as? Int == 1 && hybrid["coarse_top_k"]?["maximum"] as? Int == 1000)
                #expect(hybrid["query"]?["minLength"] as? Int == 1)
                let input = try #require(schemas["EpisodeInput"]?["properties"] as? [String: [String: Any]])
                #expect(input["content"]?["maxLength"] as? Int == 1 << 20 && input["id"]?["maxLength"] as? Int == 256)
                let vectors = try #require(input["vectors"]?["propertyNames"] as? [String: Any])
                #expect(Set(vectors["enum"] as? [String] ?? []) == ["vector_fastembed", "vector"])
                let list = try #require(
                    (document["paths"] as? [String: [String: Any]])?["/agents/{agent_id}/episodes"]?["get"] as? [String: Any])
                let limit = try #require((list["parameters"] as? [[String: Any]])?.first { $0["name"] as? String == "limit" })
                #expect((limit["schema"] as? [String: Any])?["maximum"] as? Int == 1000)
            }
        }
    }
}
