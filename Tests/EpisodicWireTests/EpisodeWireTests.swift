import EpisodicMemory
import EpisodicWire
import Foundation
import Testing

/// The one JSON shape of an episode: what HTTP and `import` read, and what every output writes.
@Suite struct EpisodeWireTests {
    func parse(_ text: String, agent: String? = "a") throws(WireError) -> NewEpisode {
        try EpisodeWire.episode(from: try WireObject.parse(Array(text.utf8), context: "body"), agentID: agent)
    }

    func message(_ text: String, agent: String? = "a") -> String {
        do { _ = try parse(text, agent: agent); return "" } catch { return error.message }
    }

    @Test func everyFieldIsRead() throws {
        let item = try parse(
            #"""
            {"id": "e1", "content": "c", "summary": "s", "metadata": {"n": 9007199254740993, "z": -0.0},
             "created_at": "2024-05-01T09:30:00.25Z", "vectors": {"vector_fastembed": [0.5, -1e-3, 2]}}
            """#)
        #expect(item.episode.id == "e1" && item.episode.agentID == "a" && item.episode.summary == "s")
        #expect(item.episode.metadata["n"]?.numberValue?.literal == "9007199254740993")
        #expect(item.episode.metadata["z"]?.numberValue?.literal == "-0.0")
        #expect(EpisodeTime.rfc3339(item.episode.createdAt) == "2024-05-01T09:30:00.250Z")
        #expect(item.vectors["vector_fastembed"] == [0.5, -0.001, 2])
        // Unix seconds, as import accepted before: the same parser for both doors.
        #expect(
            try parse(#"{"content": "c", "created_at": 1700000000.5}"#).episode.createdAt == Date(timeIntervalSince1970: 1_700_000_000.5))
        #expect(try parse(#"{"agent_id": "b", "content": "c"}"#, agent: nil).episode.agentID == "b")
    }

    @Test func mistakesNameTheField() {
        #expect(message(#"{"content": "c", "colour": "red"}"#).hasPrefix("unknown field \"colour\""))
        #expect(message(#"{"content": 42}"#) == "\"content\" must be a string, got a number")
        #expect(message(#"{"summary": "s"}"#) == "\"content\" is required")
        #expect(message(#"{"content": "c", "agent_id": "b"}"#).contains("differs from the path's \"a\""))
        #expect(message(#"{"content": "c"}"#, agent: nil) == "\"agent_id\" is required")
        #expect(message(#"{"content": "c", "metadata": [1]}"#) == "\"metadata\" must be a JSON object, got an array")
        #expect(message(#"{"content": "c", "created_at": "2024-02-30T00:00:00Z"}"#).contains("no such date"))
        #expect(message(#"{"content": "c", "created_at": "10000-01-01T00:00:00Z"}"#).contains("outside the supported range"))
        #expect(message(#"{"content": "c", "created_at": 253402300800}"#).contains("outside"))
        #expect(message(#"{"content": "c", "created_at": true}"#).contains("RFC 3339 date-time or Unix seconds"))
        #expect(message(#"{"content": "c", "vectors": {"v": [1, "x"]}}"#).contains("array of numbers"))
        #expect(message(#"{"content": "c", "content": "d"}"#).contains("duplicate key"))
        #expect(message("[1]") == "body must be a JSON object, got an array")
    }

    @Test func outputReadsBackAsTheSameEpisode() throws {
        var episode = Episode(
            id: "x/y z", agentID: "élève", content: "line\nbreak \"quoted\"", summary: nil,
            metadata: ["n": .number(JSONNumber(literal: "1e40")!), "s": "🚀"],
            createdAt: try EpisodeTime.parse(rfc3339: "2020-01-02T03:04:05.678Z"))
        episode.fastembedCached = true
        episode.fastembedCachedAt = episode.createdAt
        let json = EpisodeWire.json(episode, vectors: ["vector_fastembed": [0.25, -1]])
        let object = try JSONParser().parse(json).objectValue!
        #expect(
            object["summary"] == .null && object["embedding_cached"] == false && object["fastembed_cached_at"] == "2020-01-02T03:04:05.678Z"
        )
        let input = try WireObject(
            .object(
                object.filter { !["embedding_cached", "embedding_cached_at", "fastembed_cached", "fastembed_cached_at"].contains($0.key) }),
            context: "line 1")
        let back = try EpisodeWire.episode(from: input, agentID: nil)
        #expect(back.episode.id == episode.id && back.episode.agentID == episode.agentID && back.episode.content == episode.content)
        #expect(back.episode.metadata == episode.metadata && back.episode.createdAt == episode.createdAt)
        #expect(back.vectors == ["vector_fastembed": [0.25, -1]])
    }

    @Test func retrievalResponsesCutAnEchoedHugeQuery() throws {
        let response = RetrievalResponse(results: [], timings: StageTimings(), fallbackReason: .noQualityColumn)
        let huge = String(repeating: "q", count: 5000)
        let object = try JSONParser().parse(RetrievalWire.json(response, agentID: "a", query: huge)).objectValue!
        #expect(object["query"]?.stringValue?.count == RetrievalWire.echoedQueryLimit && object["query_truncated"] == true)
        #expect(object["fallback_code"] == "no_quality_column")
    }
}
