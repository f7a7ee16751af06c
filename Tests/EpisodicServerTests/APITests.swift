import EpisodicMemory
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@testable import EpisodicServer

/// Every route and every error status, through real HTTP requests on 127.0.0.1.
@Suite struct APITests {
    @Test func episodesCreateGetListDelete() async throws {
        try await ServerFixture.with { f in
            try await f.live { client in
                let one = try await client.execute(
                    uri: "/agents/planner/episodes", method: .post, headers: jsonHeaders,
                    body: jsonBody(["content": "Booked the flight to Lisbon for Friday", "metadata": ["tool": "flights"]]))
                #expect(one.status == .created)
                let id = try #require((one.json["ids"] as? [String])?.first)
                let batch = try await client.execute(
                    uri: "/agents/planner/episodes", method: .post, headers: jsonHeaders,
                    body: jsonBody([
                        "episodes": [
                            ["content": "Paid the electricity bill", "created_at": "2024-01-02T10:00:00Z"],
                            ["id": "fixed-id", "content": "Alice loves vegetarian food", "summary": "Alice: vegetarian"],
                        ]
                    ]))
                #expect(batch.status == .created)
                #expect((batch.json["ids"] as? [String])?.last == "fixed-id")

                let got = try await client.execute(uri: "/agents/planner/episodes/\(id)", method: .get)
                #expect(got.status == .ok)
                #expect(got.json["content"] as? String == "Booked the flight to Lisbon for Friday")
                #expect(got.json["fastembed_cached"] as? Bool == true && got.json["embedding_cached"] as? Bool == true)
                #expect((got.json["metadata"] as? [String: Any])?["tool"] as? String == "flights")
                #expect(got.json["summary"] is NSNull)

                // Newest first, two per page, through the cursor.
                var seen: [String] = []
                var cursor: String?
                repeat {
                    let uri = "/agents/planner/episodes?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                    let page = try await client.execute(uri: uri, method: .get)
                    #expect(page.status == .ok)
                    seen += (page.json["episodes"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                    cursor = page.json["next_cursor"] as? String
                } while cursor != nil
                #expect(seen.count == 3 && Set(seen) == Set([id, "fixed-id", (batch.json["ids"] as! [String])[0]]))
                #expect(seen.last == (batch.json["ids"] as! [String])[0]) // created in 2024: the oldest

                // Another agent cannot see or delete it.
                #expect(try await client.execute(uri: "/agents/other/episodes/\(id)", method: .get).status == .notFound)
                #expect(try await client.execute(uri: "/agents/other/episodes/\(id)", method: .delete).status == .notFound)
                let deleted = try await client.execute(uri: "/agents/planner/episodes/\(id)", method: .delete)
                #expect(deleted.status == .ok && deleted.json["deleted"] as? String == id)
                let again = try await client.execute(uri: "/agents/planner/episodes/\(id)", method: .get)
                #expect(again.status == .notFound && again.errorCode == "episode_not_found")
                #expect(try await client.execute(uri: "/agents/planner/episodes/\(id)", method: .delete).status == .notFound)
            }
        }
    }

    @Test func hybridAndBaselineRetrieval() async throws {
        try await ServerFixture.with { f in
            try await f.memory.add(
                [
                    "Booked the flight to Lisbon for Friday", "Paid the electricity bill", "Alice loves vegetarian food",
                    "Deployment 2.4.1 failed on the database migration",
                ].map { Episode(agentID: "planner", content: $0) })
            try await f.live { client in
                let hybrid = try await client.execute(
                    uri: "/agents/planner/retrieve-hybrid", method: .post, headers: jsonHeaders,
                    body: jsonBody(["query": "what does Alice eat?", "coarse_top_k": 10, "rerank_top_k": 3, "limit": 4]))
                #expect(hybrid.status == .ok)
                let results = try #require(hybrid.json["results"] as? [[String: Any]])
                #expect(results.count == 4)
                #expect(((results[0]["episode"] as? [String: Any])?["content"] as? String) == "Alice loves vegetarian food")
                #expect(results.allSatisfy { ["reranked", "coarse_only"].contains($0["stage"] as? String ?? "") })
                #expect(results[0]["rerank_score"] is NSNumber && results[0]["coarse_score"] is NSNumber)
                #expect(hybrid.json["fallback_reason"] is NSNull)
                let timings = try #require(hybrid.json["timings_ms"] as? [String: Any])
                #expect((timings["total"] as? Double ?? 0) > 0 && timings["rerank"] != nil && timings["query_embedding"] != nil)

                let off = try await client.execute(
                    uri: "/agents/planner/retrieve-hybrid", method: .post, headers: jsonHeaders,
                    body: jsonBody(["query": "flight", "use_reranking": false, "lexical": false]))
                #expect((off.json["results"] as? [[String: Any]] ?? []).allSatisfy { $0["stage"] as? String == "coarse_only" })

                let baseline = try await client.execute(
                    uri: "/agents/planner/retrieve-baseline", method: .post, headers: jsonHeaders,
                    body: jsonBody(["query": "flight to Portugal", "top_k": 2]))
                #expect(baseline.status == .ok)
                let hits = try #require(baseline.json["results"] as? [[String: Any]])
                #expect(hits.count == 2 && hits.allSatisfy { $0["stage"] as? String == "coarse_only" })
                #expect(((hits[0]["episode"] as? [String: Any])?["content"] as? String) == "Booked the flight to Lisbon for Friday")

                let unknown = try await client.execute(
                    uri: "/agents/ghost/retrieve-hybrid", method: .post, headers: jsonHeaders, body: jsonBody(["query": "x"]))
                #expect(unknown.status == .notFound && unknown.errorCode == "agent_not_found")
            }
        }
    }

    @Test func badRequestsAre400() async throws {
        try await ServerFixture.with { f in
            try await f.memory.add(Episode(agentID: "a", content: "something"))
            try await f.live { client in
                let cases: [(String, HTTPRequest.Method, ByteBuffer?, String)] = [
                    ("/agents/a/episodes", .post, ByteBuffer(string: "{not json"), "invalid JSON at byte 1"),
                    ("/agents/a/episodes", .post, nil, "needs a JSON body"),
                    ("/agents/a/episodes", .post, jsonBody(["content": "x", "colour": "red"]), "unknown field \"colour\""),
                    ("/agents/a/episodes", .post, jsonBody(["content": 42]), "\"content\" must be a string, got a number"),
                    ("/agents/a/episodes", .post, jsonBody(["summary": "only"]), "\"content\" is required"),
                    ("/agents/a/episodes", .post, jsonBody(["content": "   "]), "content is empty"),
                    ("/agents/a/episodes", .post, jsonBody(["content": "x", "agent_id": "b"]), "differs from the path"),
                    ("/agents/a/episodes", .post, jsonBody(["content": "x", "metadata": [1, 2]]), "\"metadata\" must be a JSON object"),
                    ("/agents/a/episodes", .post, jsonBody(["content": "x", "created_at": "yesterday"]), "not an RFC 3339 date-time"),
                    ("/agents/a/episodes", .post, jsonBody(["episodes": []]), "non-empty array"),
                    ("/agents/a/retrieve-hybrid", .post, jsonBody(["coarse_top_k": 5]), "\"query\" is required"),
                    ("/agents/a/retrieve-hybrid", .post, jsonBody(["query": "x", "top-k": 5]), "unknown field \"top-k\""),
                    ("/agents/a/retrieve-hybrid", .post, jsonBody(["query": "x", "coarse_top_k": 0]), "coarse_top_k"),
                    ("/agents/a/retrieve-hybrid", .post, jsonBody(["query": "x", "coarse_top_k": 5, "rerank_top_k": 6]), "rerank_top_k"),
                    ("/agents/a/retrieve-hybrid", .post, jsonBody(["query": "x", "use_reranking": "yes"]), "true or false"),
                    ("/agents/a/retrieve-hybrid", .post, jsonBody(["query": " "]), "\"query\" is empty"),
                    ("/agents/a/retrieve-baseline", .post, jsonBody(["query": "x", "top_k": 2.5]), "must be an integer"),
                    ("/agents/a/episodes?limit=0", .get, nil, "limit must be"),
                    ("/agents/a/episodes?cursor=garbage", .get, nil, "cursor"),
                ]
                for (uri, method, body, fragment) in cases {
                    let response = try await client.execute(uri: uri, method: method, headers: jsonHeaders, body: body)
                    #expect(response.status == .badRequest, "\(uri) \(String(describing: body.map { String(buffer: $0) }))")
                    #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                    let message = (response.json["error"] as? [String: Any])?["message"] as? String ?? ""
                    #expect(message.contains(fragment), "\(uri): \(message)")
                }
                // An id taken by other content is a conflict, and changes nothing.
                let first = try await client.execute(
                    uri: "/agents/a/episodes", method: .post, headers: jsonHeaders, body: jsonBody(["id": "dup", "content": "one"]))
                #expect(first.status == .created)
                let second = try await client.execute(
                    uri: "/agents/a/episodes", method: .post, headers: jsonHeaders, body: jsonBody(["id": "dup", "content": "two"]))
                #expect(second.status == .conflict && second.errorCode == "conflicting_episode")
                #expect(try await f.memory.episode(agentID: "a", id: "dup").content == "one")
            }
        }
    }

    @Test func oversizedBodiesAndTextsAre413() async throws {
        try await ServerFixture.with(
            api: {
                $0.maxBodyBytes = 2000; $0.maxBatchSize = 3
            }, maxTextBytes: 500
        ) { f in
            try await f.live { client in
                let body = try await client.execute(
                    uri: "/agents/a/episodes", method: .post, headers: jsonHeaders,
                    body: jsonBody(["content": String(repeating: "x", count: 3000)]))
                #expect(body.status == .contentTooLarge && body.errorCode == "body_too_large")
                let text = try await client.execute(
                    uri: "/agents/a/episodes", method: .post, headers: jsonHeaders,
                    body: jsonBody(["content": String(repeating: "y", count: 600)]))
                #expect(text.status == .contentTooLarge && text.errorCode == "text_too_large")
                let batch = try await client.execute(
                    uri: "/agents/a/episodes", method: .post, headers: jsonHeaders,
                    body: jsonBody(["episodes": (0..<4).map { ["content": "e\($0)"] }]))
                #expect(batch.status == .contentTooLarge && batch.errorCode == "batch_too_large")
                #expect(try await f.memory.stats().episodes == 0)
            }
        }
    }

    @Test func wrongVectorDimensionsAre422() async throws {
        try await ServerFixture.with { f in
            try await f.live { client in
                let wrong = try await client.execute(
                    uri: "/agents/a/episodes", method: .post, headers: jsonHeaders,
                    body: jsonBody(["content": "x", "vectors": ["vector_fastembed": [0.1, 0.2, 0.3]]]))
                #expect(wrong.status == .unprocessableContent && wrong.errorCode == "invalid_vector")
                #expect(
                    ((wrong.json["error"] as? [String: Any])?["message"] as? String)?.contains("384-dimensional vectors, got 3") == true)
                let unknown = try await client.execute(
                    uri: "/agents/a/episodes", method: .post, headers: jsonHeaders,
                    body: jsonBody(["content": "x", "vectors": ["embedding": [0.1]]]))
                #expect(unknown.status == .unprocessableContent && unknown.errorCode == "unknown_column")
                // The right dimension is stored as given: no model is needed for that vector.
                let given = (0..<384).map { Double($0 % 7) / 10 }
                let ok = try await client.execute(
                    uri: "/agents/a/episodes", method: .post, headers: jsonHeaders,
                    body: jsonBody(["id": "given", "content": "x", "vectors": ["vector_fastembed": given]]))
                #expect(ok.status == .created)
                #expect(try await f.memory.vectors(agentID: "a", id: "given")["vector_fastembed"]?.first == 0)
                #expect(try await f.memory.stats().episodes == 1)
            }
        }
    }

    @Test func aMissingRequiredModelIs503() async throws {
        try await ServerFixture.with(fastModelDirectory: URL(fileURLWithPath: "/nonexistent/fast-model")) { f in
            try await f.live { client in
                let add = try await client.execute(
                    uri: "/agents/a/episodes", method: .post, headers: jsonHeaders, body: jsonBody(["content": "x"]))
                #expect(add.status == .serviceUnavailable && add.errorCode == "model_unavailable")
                #expect(((add.json["error"] as? [String: Any])?["message"] as? String)?.contains("/nonexistent/fast-model") == true)
                try await f.memory.add([
                    NewEpisode(
                        Episode(id: "e", agentID: "a", content: "x"), vectors: ["vector_fastembed": [Float](repeating: 0.05, count: 384)])
                ])
                let retrieve = try await client.execute(
                    uri: "/agents/a/retrieve-hybrid", method: .post, headers: jsonHeaders, body: jsonBody(["query": "x"]))
                #expect(retrieve.status == .serviceUnavailable)
                let health = try await client.execute(uri: "/health", method: .get)
                #expect(health.status == .ok)
            }
        }
    }

    @Test func healthAndMetrics() async throws {
        try await ServerFixture.with { f in
            try await f.live { client in
                let before = try await client.execute(uri: "/health", method: .get)
                #expect(before.status == .ok && before.json["status"] as? String == "ok")
                let models = try #require(before.json["models"] as? [String: [String: Any]])
                #expect(models["fast"]?["loaded"] as? Bool == false && models["quality"]?["loaded"] as? Bool == false)
                #expect(models["quality"]?["dimension"] as? Int == 1024)

                _ = try await client.execute(
                    uri: "/agents/m/episodes", method: .post, headers: jsonHeaders, body: jsonBody(["content": "Booked a flight"]))
                _ = try await client.execute(
                    uri: "/agents/m/episodes", method: .post, headers: jsonHeaders, body: jsonBody(["content": "Paid a bill"]))
                _ = try await client.execute(
                    uri: "/agents/m/retrieve-hybrid", method: .post, headers: jsonHeaders, body: jsonBody(["query": "flight"]))
                _ = try await client.execute(uri: "/agents/m/episodes/none", method: .get)
                let after = try await client.execute(uri: "/health", method: .get)
                #expect(((after.json["models"] as? [String: [String: Any]])?["fast"]?["loaded"] as? Bool) == true)
                // Health says nothing private: no path, no counts.
                #expect(((after.json["store"] as? [String: Any])?["schema_version"] as? String) == SQLiteSchema.latest)
                #expect(!after.text.contains(f.directory.url.path) && (after.json["store"] as? [String: Any])?["episodes"] == nil)

                let metrics = try await client.execute(uri: "/metrics", method: .get)
                #expect(metrics.status == .ok)
                #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
                let text = metrics.text
                for line in [
                    #"episodic_http_requests_total{route="/agents/{agent_id}/episodes",method="POST",status="201"} 2"#,
                    #"episodic_http_requests_total{route="/agents/{agent_id}/episodes/{id}",method="GET",status="404"} 1"#,
                    #"episodic_agent_episodes{agent_id="m"} 2.0"#,
                    #"episodic_retrieval_stage_seconds_count{mode="hybrid",stage="total"} 1"#,
                    #"episodic_model_loaded{role="fast"} 1.0"#,
                ] {
                    #expect(text.contains(line), "missing: \(line)")
                }
                #expect(
                    text.contains("episodic_lru_hits_total") && text.contains("episodic_lru_misses_total")
                        && text.contains("episodic_lru_evictions_total"))
                #expect(text.contains("episodic_http_request_duration_seconds_bucket"))
            }
        }
    }

    /// A SQLite server reports its full-text postings in memory: an agent searched twice while
    /// unchanged is loaded, and its next searches are ranked from memory.
    @Test func metricsReportTheLexicalPostingsInMemory() async throws {
        try await ServerFixture.with { f in
            try await f.live { client in
                _ = try await client.execute(
                    uri: "/agents/m/episodes", method: .post, headers: jsonHeaders, body: jsonBody(["content": "Booked a flight"]))
                func metric(_ name: String) async throws -> Double? {
                    let text = try await client.execute(uri: "/metrics", method: .get).text
                    return text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
                }
                func retrieve() async throws {
                    let r = try await client.execute(
                        uri: "/agents/m/retrieve-hybrid", method: .post, headers: jsonHeaders, body: jsonBody(["query": "flight"]))
                    #expect(r.status == .ok)
                }
                try await retrieve()
                try await retrieve()
                for _ in 0..<200 where try await metric("episodic_lexical_memory_loads_total") != 1 {
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(try await metric("episodic_lexical_memory_loads_total") == 1)
                #expect(try await metric("episodic_lexical_memory_agents") == 1)
                #expect((try await metric("episodic_lexical_memory_bytes") ?? 0) > 0)
                try await retrieve()
                #expect(try await metric("episodic_lexical_memory_searches_total") == 1)
                // The server's own write extends the agent's postings: the next search still uses them.
                let added = try await client.execute(
                    uri: "/agents/m/episodes", method: .post, headers: jsonHeaders, body: jsonBody(["content": "Another flight, to Oslo"]))
                #expect(added.status == .created)
                try await retrieve()
                #expect(try await metric("episodic_lexical_memory_edits_total") == 1)
                #expect(try await metric("episodic_lexical_memory_searches_total") == 2)
                #expect(try await metric("episodic_lexical_memory_loads_total") == 1)
            }
        }
    }

    /// A batching server reports its forward passes and the requests they served.
    @Test func metricsCountTheBatchersPassesAndRequests() async throws {
        try await ServerFixture.with(memory: { $0.batching = true }) { f in
            try await f.live { client in
                for query in ["flight", "bill"] {
                    let r = try await client.execute(
                        uri: "/agents/m/episodes", method: .post, headers: jsonHeaders, body: jsonBody(["content": "Booked a \(query)"]))
                    #expect(r.status == .created)
                    let q = try await client.execute(
                        uri: "/agents/m/retrieve-hybrid", method: .post, headers: jsonHeaders, body: jsonBody(["query": query]))
                    #expect(q.status == .ok)
                }
                let totals = Dictionary(
                    (try await client.execute(uri: "/metrics", method: .get)).text.split(separator: "\n").compactMap { line in
                        let fields = line.split(separator: " ")
                        return fields.count == 2 && !line.hasPrefix("#") ? (String(fields[0]), Double(fields[1]) ?? -1) : nil
                    }, uniquingKeysWith: { a, _ in a })
                // Each retrieval asks for two query embeddings; the writes' texts go through it too.
                let passes = try #require(totals["episodic_embedding_passes_total"])
                let requests = try #require(totals["episodic_embedding_batched_requests_total"])
                #expect(passes >= 1 && requests >= 4 && requests >= passes)
                #expect(totals["episodic_embedding_queue_requests"] == 0)
                #expect((totals["episodic_embedding_largest_pass_requests"] ?? 0) >= 1)
            }
        }
    }

    @Test func theOpenAPIDocumentMatchesTheRouter() async throws {
        try await ServerFixture.with { f in
            try await f.live { client in
                let response = try await client.execute(uri: "/openapi.json", method: .get)
                #expect(response.status == .ok && response.json["openapi"] as? String == "3.1.0")
                let paths = try #require(response.json["paths"] as? [String: [String: Any]])
                let documented = Set(paths.flatMap { path, operations in operations.keys.map { "\($0.uppercased()) \(path)" } })
                let routed = Set(f.api.routes.map { "\($0.method.rawValue) \($0.path)" })
                #expect(documented == routed)
                // Every documented operation is answered by its handler, not by the router's 404/405.
                for entry in documented.sorted() {
                    let parts = entry.split(separator: " ")
                    let uri = String(parts[1]).replacingOccurrences(of: "{agent_id}", with: "x").replacingOccurrences(of: "{id}", with: "y")
                        .replacingOccurrences(of: "{key_id}", with: "z")
                    let reply = try await client.execute(
                        uri: uri, method: HTTPRequest.Method(String(parts[0]))!, headers: jsonHeaders, body: jsonBody(["query": "q"]))
                    #expect(reply.errorCode != "route_not_found" && reply.status != .methodNotAllowed, "\(entry) → \(reply.status)")
                }
                // And what is not documented is not routed.
                let missing = try await client.execute(uri: "/agents/x/forget-everything", method: .post)
                #expect(missing.status == .notFound && missing.errorCode == "route_not_found")
                // Each operation documents its error statuses with the error schema.
                let retrieve = try #require(paths["/agents/{agent_id}/retrieve-hybrid"]?["post"] as? [String: Any])
                #expect(Set((retrieve["responses"] as? [String: Any] ?? [:]).keys) == ["200", "400", "404", "413", "503"])
            }
        }
    }
}
