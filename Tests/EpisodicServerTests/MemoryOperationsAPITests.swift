import EpisodicMemory
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@testable import EpisodicServer

/// Filters, time, updates, forgetting, duplicates and export — through real HTTP requests on
/// 127.0.0.1, on both store backends.
@Suite struct MemoryOperationsAPITests {
    static var trips: [[String: Any]] {
        [
            [
                "id": "t1", "content": "Booked the flight to Lisbon for Friday", "metadata": ["tool": "flights", "status": "open"],
                "created_at": "2026-11-20T09:00:00Z",
            ],
            [
                "id": "t2", "content": "Cancelled the flight to Berlin", "metadata": ["tool": "flights", "status": "done"],
                "created_at": "2026-11-25T09:00:00Z",
            ],
            [
                "id": "t3", "content": "Reserved a hotel in Lisbon near the river", "metadata": ["tool": "hotels", "status": "open"],
                "created_at": "2026-11-28T09:00:00Z",
            ],
            [
                "id": "t4", "content": "Flight to Madrid is waitlisted", "metadata": ["tool": "flights", "status": "waitlist"],
                "created_at": "2026-11-30T09:00:00Z",
            ],
        ]
    }

    static func ids(_ response: TestResponse) -> [String] {
        (response.json["results"] as? [[String: Any]] ?? []).compactMap { ($0["episode"] as? [String: Any])?["id"] as? String }
    }

    @Test(arguments: Backend.allCases)
    func filtersRecencyAndListingOrder(_ backend: Backend) async throws {
        try await ServerFixture.with(backend: backend) { f in
            try await f.live { client in
                let added = try await client.execute(
                    uri: "/agents/p/episodes", method: .post, headers: jsonHeaders, body: jsonBody(["episodes": Self.trips]))
                #expect(added.status == .created)
                // Equality and set membership on metadata, before the top-k of every stage.
                let filtered = try await client.execute(
                    uri: "/agents/p/retrieve-hybrid", method: .post, headers: jsonHeaders,
                    body: jsonBody([
                        "query": "flight", "limit": 10,
                        "filter": ["metadata": ["tool": "flights", "status": ["in": ["open", "done"]]]],
                    ]))
                #expect(filtered.status == .ok)
                #expect(Set(Self.ids(filtered)) == ["t1", "t2"])
                let windowed = try await client.execute(
                    uri: "/agents/p/retrieve-baseline", method: .post, headers: jsonHeaders,
                    body: jsonBody([
                        "query": "Lisbon", "top_k": 10,
                        "filter": ["created_after": "2026-11-21T00:00:00Z", "exclude_ids": ["t4"]],
                    ]))
                #expect(Set(Self.ids(windowed)) == ["t2", "t3"])
                // An unknown operator is a 400 that names it.
                let unknown = try await client.execute(
                    uri: "/agents/p/retrieve-hybrid", method: .post, headers: jsonHeaders,
                    body: jsonBody(["query": "flight", "filter": ["metadata": ["price": ["gt": 100]]]]))
                #expect(unknown.status == .badRequest)
                #expect(unknown.errorMessage.contains("\"gt\"") && unknown.errorMessage.contains("price"))
                let list = try await client.execute(
                    uri: "/agents/p/retrieve-hybrid", method: .post, headers: jsonHeaders,
                    body: jsonBody(["query": "flight", "filter": ["metadata": ["tool": ["flights"]]]]))
                #expect(list.status == .badRequest && list.errorMessage.contains("{\"in\""))
                let field = try await client.execute(
                    uri: "/agents/p/retrieve-hybrid", method: .post, headers: jsonHeaders,
                    body: jsonBody(["query": "flight", "filter": ["tags": "x"]]))
                #expect(field.status == .badRequest && field.errorMessage.contains("tags"))

                // Recency: part of the fusion, visible per result.
                let recent = try await client.execute(
                    uri: "/agents/p/retrieve-hybrid", method: .post, headers: jsonHeaders,
                    body: jsonBody(["query": "flight", "recency_half_life": "1d", "recency_weight": 1]))
                #expect(recent.status == .ok)
                let results = recent.json["results"] as? [[String: Any]] ?? []
                #expect(results.count == 4 && results.allSatisfy { ($0["recency_score"] as? Double).map { $0 > 0 && $0 <= 1 } == true })
                let scores = results.compactMap { $0["recency_score"] as? Double }
                let byID = Dictionary(uniqueKeysWithValues: zip(Self.ids(recent), scores))
                #expect(byID["t4"]! > byID["t1"]!)
                let plain = try await client.execute(
                    uri: "/agents/p/retrieve-hybrid", method: .post, headers: jsonHeaders, body: jsonBody(["query": "flight"]))
                #expect((plain.json["results"] as? [[String: Any]])?.allSatisfy { $0["recency_score"] is NSNull } == true)
                let badHalfLife = try await client.execute(
                    uri: "/agents/p/retrieve-hybrid", method: .post, headers: jsonHeaders,
                    body: jsonBody(["query": "flight", "recency_half_life": "soon"]))
                #expect(badHalfLife.status == .badRequest)

                // Listing: a filter in the query, and the order by update time.
                let query = "{\"metadata\":{\"tool\":\"flights\"}}".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                let flights = try await client.execute(uri: "/agents/p/episodes?filter=\(query)", method: .get)
                #expect((flights.json["episodes"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["t4", "t2", "t1"])
                let after = try await client.execute(uri: "/agents/p/episodes?created_after=2026-11-26T00:00:00Z", method: .get)
                #expect((after.json["episodes"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["t4", "t3"])
                let patched = try await client.execute(
                    uri: "/agents/p/episodes/t1", method: .patch, headers: jsonHeaders, body: jsonBody(["metadata": ["status": "done"]]))
                #expect(patched.status == .ok)
                let byUpdate = try await client.execute(uri: "/agents/p/episodes?order=updated_at&limit=2", method: .get)
                #expect((byUpdate.json["episodes"] as? [[String: Any]])?.first?["id"] as? String == "t1")
                let cursor = try #require(byUpdate.json["next_cursor"] as? String)
                let mixed = try await client.execute(uri: "/agents/p/episodes?cursor=\(cursor)", method: .get)
                #expect(mixed.status == .badRequest)
                let next = try await client.execute(uri: "/agents/p/episodes?order=updated_at&limit=2&cursor=\(cursor)", method: .get)
                #expect((next.json["episodes"] as? [[String: Any]])?.count == 2)
                #expect(try await client.execute(uri: "/agents/p/episodes?order=size", method: .get).status == .badRequest)
                let badFilter = try await client.execute(uri: "/agents/p/episodes?filter=%7B", method: .get)
                #expect(badFilter.status == .badRequest)
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func aRetrievalRightAfterAPatchNeverSeesTheOldText(_ backend: Backend) async throws {
        try await ServerFixture.with(maxTextBytes: 4096, backend: backend) { f in
            try await f.live { client in
                _ = try await client.execute(
                    uri: "/agents/p/episodes", method: .post, headers: jsonHeaders,
                    body: jsonBody([
                        "episodes": [
                            [
                                "id": "m", "content": "The meeting with Bob is on Monday in room four",
                                "metadata": ["who": "bob", "draft": true],
                            ],
                            ["id": "n", "content": "Bought groceries: apples, bread and cheese"],
                        ]
                    ]))
                // Warm every cache with the old text.
                let before = try await client.execute(
                    uri: "/agents/p/retrieve-hybrid", method: .post, headers: jsonHeaders,
                    body: jsonBody(["query": "meeting with Bob on Monday"]))
                #expect(Self.ids(before).first == "m")
                let newText = "The dentist appointment moved to Thursday afternoon"
                let patched = try await client.execute(
                    uri: "/agents/p/episodes/m", method: .patch, headers: jsonHeaders,
                    body: jsonBody(["content": newText, "metadata": ["draft": NSNull(), "room": 4]]))
                #expect(patched.status == .ok)
                #expect(patched.json["content"] as? String == newText)
                let metadata = try #require(patched.json["metadata"] as? [String: Any])
                #expect(metadata["who"] as? String == "bob" && metadata["room"] as? Int == 4 && metadata["draft"] == nil)
                #expect((patched.json["updated_at"] as? String ?? "") > (patched.json["created_at"] as? String ?? "~"))

                // Right after: the old words find nothing of it, and its scores are the new text's.
                for query in ["meeting with Bob on Monday", "dentist appointment Thursday"] {
                    let after = try await client.execute(
                        uri: "/agents/p/retrieve-hybrid", method: .post, headers: jsonHeaders, body: jsonBody(["query": query]))
                    for result in after.json["results"] as? [[String: Any]] ?? [] {
                        let episode = result["episode"] as? [String: Any] ?? [:]
                        #expect((episode["content"] as? String)?.contains("Bob") != true)
                        guard episode["id"] as? String == "m" else { continue }
                        let fast = try await f.memory.service.fast.embedQuery(query)
                        let stored = try await f.memory.vectors(agentID: "p", id: "m")
                        let expectedFast = try await f.memory.service.fast.embedPassages([newText])[0]
                        #expect(zip(stored["vector_fastembed"] ?? [], expectedFast).allSatisfy { abs($0 - $1) < 1e-5 })
                        let dense = try #require(result["dense_score"] as? Double)
                        #expect(abs(dense - Double(zip(expectedFast, fast).map(*).reduce(0, +))) < 1e-4)
                        let quality = try #require(f.memory.service.quality)
                        let expectedQuality = try await quality.embedPassages([newText])[0]
                        let rerank = try #require(result["rerank_score"] as? Double)
                        let q = try await quality.embedQuery(query)
                        #expect(abs(rerank - Double(zip(expectedQuality, q).map(*).reduce(0, +))) < 1e-4)
                    }
                }
                let lexical = try await f.memory.lexicalSearch(agentID: "p", query: "Bob Monday", topK: 5)
                #expect(lexical.isEmpty)

                // replace mode, clearing the summary, and the errors.
                let replaced = try await client.execute(
                    uri: "/agents/p/episodes/m", method: .patch, headers: jsonHeaders,
                    body: jsonBody(["metadata": ["only": "this"], "metadata_mode": "replace", "summary": NSNull()]))
                #expect(replaced.json["metadata"] as? [String: String] == ["only": "this"])
                #expect(
                    try await client.execute(
                        uri: "/agents/p/episodes/ghost", method: .patch, headers: jsonHeaders, body: jsonBody(["content": "x"])
                    ).status == .notFound)
                #expect(
                    try await client.execute(
                        uri: "/agents/other/episodes/m", method: .patch, headers: jsonHeaders, body: jsonBody(["content": "x"])
                    ).status == .notFound)
                let empty = try await client.execute(uri: "/agents/p/episodes/m", method: .patch, headers: jsonHeaders, body: jsonBody([:]))
                #expect(empty.status == .badRequest)
                let huge = try await client.execute(
                    uri: "/agents/p/episodes/m", method: .patch, headers: jsonHeaders,
                    body: jsonBody(["content": String(repeating: "x", count: 5000)]))
                #expect(huge.status == .contentTooLarge)
                let mode = try await client.execute(
                    uri: "/agents/p/episodes/m", method: .patch, headers: jsonHeaders,
                    body: jsonBody(["metadata": [:], "metadata_mode": "overwrite"]))
                #expect(mode.status == .badRequest)
                // The failed requests changed nothing.
                #expect(try await f.memory.episode(agentID: "p", id: "m").content == newText)
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func idempotentWritesAndDeduplication(_ backend: Backend) async throws {
        try await ServerFixture.with(backend: backend) { f in
            try await f.live { client in
                let body = ["id": "order-1", "content": "Ordered a blue umbrella", "metadata": ["shop": "acme"]] as [String: Any]
                let first = try await client.execute(uri: "/agents/p/episodes", method: .post, headers: jsonHeaders, body: jsonBody(body))
                #expect(first.status == .created && first.json["created"] as? [Bool] == [true])
                let retry = try await client.execute(uri: "/agents/p/episodes", method: .post, headers: jsonHeaders, body: jsonBody(body))
                #expect(retry.status == .ok && retry.json["created"] as? [Bool] == [false])
                #expect(
                    (retry.json["episode"] as? [String: Any])?["created_at"] as? String
                        == (first.json["episode"] as? [String: Any])?["created_at"] as? String)
                var other = body
                other["content"] = "Ordered a red umbrella"
                let conflict = try await client.execute(
                    uri: "/agents/p/episodes", method: .post, headers: jsonHeaders, body: jsonBody(other))
                #expect(conflict.status == .conflict && conflict.errorCode == "conflicting_episode")
                let duplicate = try await client.execute(
                    uri: "/agents/p/episodes", method: .post, headers: jsonHeaders,
                    body: jsonBody(["content": "  ordered a BLUE umbrella ", "dedup": true]))
                #expect(duplicate.status == .ok && duplicate.json["ids"] as? [String] == ["order-1"])
                // Concurrent identical writes: one episode.
                try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                    for _ in 0..<6 {
                        group.addTask {
                            try await client.execute(
                                uri: "/agents/q/episodes", method: .post, headers: jsonHeaders,
                                body: jsonBody(["content": "Paid the rent for December", "dedup": true])
                            ).status
                        }
                    }
                    var statuses: [HTTPResponse.Status] = []
                    for try await status in group { statuses.append(status) }
                    #expect(statuses.filter { $0 == .created }.count == 1 && statuses.filter { $0 == .ok }.count == 5)
                }
                #expect(try await f.memory.agentEpisodeCounts()["q"] == 1)
                // 422 for a vector of the wrong dimension, 413 for a batch over the limit: nothing stored.
                let wrong = try await client.execute(
                    uri: "/agents/r/episodes", method: .post, headers: jsonHeaders,
                    body: jsonBody(["content": "x", "vectors": ["vector_fastembed": [0.1, 0.2]]]))
                #expect(wrong.status == .unprocessableContent)
                #expect(try await f.memory.agentEpisodeCounts()["r"] == nil)
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func forgettingAnAgentAndDeletingByFilter(_ backend: Backend) async throws {
        try await ServerFixture.with(backend: backend) { f in
            try await f.live { client in
                let secret = "quokkazanzibar\(Int.random(in: 1000...9999))"
                _ = try await client.execute(
                    uri: "/agents/p/episodes", method: .post, headers: jsonHeaders, body: jsonBody(["episodes": Self.trips]))
                _ = try await client.execute(
                    uri: "/agents/gone/episodes", method: .post, headers: jsonHeaders,
                    body: jsonBody(["episodes": (0..<5).map { ["content": "\(secret) note \($0)", "metadata": ["n": $0]] }]))
                // Delete by filter: a filter is required, and it removes exactly what it matches.
                let noFilter = try await client.execute(
                    uri: "/agents/p/episodes", method: .delete, headers: jsonHeaders, body: jsonBody([:]))
                #expect(noFilter.status == .badRequest)
                let badOperator = try await client.execute(
                    uri: "/agents/p/episodes", method: .delete, headers: jsonHeaders,
                    body: jsonBody(["filter": ["metadata": ["status": ["ne": "open"]]]]))
                #expect(badOperator.status == .badRequest && badOperator.errorMessage.contains("\"ne\""))
                let deleted = try await client.execute(
                    uri: "/agents/p/episodes", method: .delete, headers: jsonHeaders,
                    body: jsonBody(["filter": ["metadata": ["status": ["in": ["done", "waitlist"]]]]]))
                #expect(deleted.status == .ok && deleted.json["deleted"] as? Int == 2)
                #expect(try await f.memory.episodes(agentID: "p").episodes.map(\.id) == ["t3", "t1"])
                let unknown = try await client.execute(
                    uri: "/agents/nobody/episodes", method: .delete, headers: jsonHeaders,
                    body: jsonBody(["filter": ["metadata": ["x": 1]]]))
                #expect(unknown.status == .notFound)

                // Forget an agent: nothing of it can be retrieved, listed or read back.
                let forgot = try await client.execute(uri: "/agents/gone?compact=true", method: .delete)
                #expect(forgot.status == .ok && forgot.json["deleted"] as? Int == 5 && forgot.json["compacted"] as? Bool == true)
                let retrieve = try await client.execute(
                    uri: "/agents/gone/retrieve-hybrid", method: .post, headers: jsonHeaders, body: jsonBody(["query": secret]))
                #expect(retrieve.status == .notFound)
                let listing = try await client.execute(uri: "/agents/gone/episodes", method: .get)
                #expect((listing.json["episodes"] as? [Any])?.isEmpty == true)
                #expect(try await client.execute(uri: "/agents/gone/export", method: .get).status == .notFound)
                #expect(try await client.execute(uri: "/agents/gone", method: .delete).status == .notFound)
                #expect(try await f.memory.agentEpisodeCounts().keys.sorted() == ["p"])
                if let path = f.sqlitePath {
                    let needle = Data(secret.utf8)
                    for suffix in ["", "-wal"] {
                        let bytes = FileManager.default.contents(atPath: path + suffix) ?? Data()
                        #expect(bytes.range(of: needle) == nil, "\(suffix.isEmpty ? "database" : "WAL") file still holds the text")
                    }
                }
                // The other agent still retrieves.
                let kept = try await client.execute(
                    uri: "/agents/p/retrieve-hybrid", method: .post, headers: jsonHeaders, body: jsonBody(["query": "hotel in Lisbon"]))
                #expect(Self.ids(kept).first == "t3")
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func exportIsTheAgentsEpisodesWithTheirVectors(_ backend: Backend) async throws {
        try await ServerFixture.with(backend: backend) { f in
            try await f.live { client in
                _ = try await client.execute(
                    uri: "/agents/p/episodes", method: .post, headers: jsonHeaders, body: jsonBody(["episodes": Self.trips]))
                _ = try await client.execute(
                    uri: "/agents/other/episodes", method: .post, headers: jsonHeaders, body: jsonBody(["content": "not exported"]))
                let export = try await client.execute(uri: "/agents/p/export?vectors=true", method: .get)
                #expect(export.status == .ok)
                #expect(export.headers[.contentType] == "application/x-ndjson")
                let lines = export.text.split(separator: "\n").map {
                    try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
                }
                #expect(lines.compactMap { $0["id"] as? String } == ["t4", "t3", "t2", "t1"])
                for line in lines {
                    let id = line["id"] as! String
                    let stored = try await f.memory.episode(agentID: "p", id: id)
                    #expect(line["content"] as? String == stored.content)
                    #expect(line["updated_at"] as? String == EpisodeTime.rfc3339(stored.updatedAt))
                    let vectors = try #require(line["vectors"] as? [String: [Double]])
                    let expected = try await f.memory.vectors(agentID: "p", id: id)
                    #expect(Set(vectors.keys) == Set(expected.keys) && vectors.count == 2)
                    for (column, values) in vectors { #expect(values.map(Float.init) == expected[column]) }
                }
                let plain = try await client.execute(uri: "/agents/p/export", method: .get)
                #expect(!plain.text.contains("\"vectors\"") && plain.text.split(separator: "\n").count == 4)
                #expect(try await client.execute(uri: "/agents/p/export?vectors=maybe", method: .get).status == .badRequest)
            }
        }
    }

    @Test func theOpenAPIDocumentDescribesTheNewOperations() async throws {
        try await ServerFixture.with { f in
            try await f.live { client in
                let document = try await client.execute(uri: "/openapi.json", method: .get).json
                let paths = try #require(document["paths"] as? [String: [String: Any]])
                #expect(paths["/agents/{agent_id}/episodes/{id}"]?["patch"] != nil)
                #expect(paths["/agents/{agent_id}"]?["delete"] != nil)
                #expect(paths["/agents/{agent_id}/episodes"]?["delete"] != nil)
                #expect(paths["/agents/{agent_id}/export"]?["get"] != nil)
                let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
                #expect(schemas["EpisodeFilter"] != nil && schemas["EpisodePatch"] != nil)
            }
        }
    }
}
