import EpisodicMemory
import EpisodicWire
import Foundation
import Hummingbird

extension EpisodicAPI {
    @Sendable func addEpisodes(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let agent = try RequestInput.agent(context)
        let body = try await RequestInput.body(request, limit: configuration.maxBodyBytes, timeout: configuration.bodyTimeoutSeconds)
        let items = try APIError.fromWire { () throws(WireError) in try episodes(in: body, agentID: agent) }
        let memory = self.memory, batch = items
        let outcomes = try await gate.run { try await memory.insert(batch) }
        // 201 when this request added anything; 200 when every episode was already there (a
        // retried write, or a duplicate that `dedup` found).
        var out = "{\"created\":[" + outcomes.map { $0.created ? "true" : "false" }.joined(separator: ",") + "],"
        if body.fields["episodes"] == nil, let only = outcomes.first {
            out += "\"episode\":"
            EpisodeWire.write(only.episode, into: &out)
            out += ","
        }
        out += "\"ids\":[" + outcomes.map { JSONValue.string($0.episode.id).jsonText }.joined(separator: ",") + "]}"
        return .json(out, status: outcomes.contains(where: \.created) ? .created : .ok)
    }

    /// One episode, or a batch as `{"episodes": [...]}`.
    func episodes(in body: WireObject, agentID: String) throws(WireError) -> [NewEpisode] {
        guard let list = try body.array("episodes") else { return [try EpisodeWire.episode(from: body, agentID: agentID)] }
        try body.allowOnly(["episodes"])
        guard !list.isEmpty else { throw WireError("\"episodes\" must be a non-empty array") }
        guard list.count <= configuration.maxBatchSize else {
            throw WireError("\(list.count) episodes in one request, over the limit of \(configuration.maxBatchSize)", tooLarge: true)
        }
        var items: [NewEpisode] = []
        for (index, value) in list.enumerated() {
            items.append(try EpisodeWire.episode(from: try WireObject(value, context: "episodes[\(index)]"), agentID: agentID))
        }
        return items
    }

    @Sendable func listEpisodes(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let agent = try RequestInput.agent(context)
        let query = request.uri.queryParameters
        var limit = 50
        if let text = query["limit"] {
            guard let value = Int(String(text)), (1...configuration.maxPageSize).contains(value) else {
                throw APIError.invalid("limit must be an integer in 1…\(configuration.maxPageSize)")
            }
            limit = value
        }
        var order = EpisodeOrder.createdAt
        if let text = query["order"] {
            guard let value = EpisodeOrder(rawValue: String(text)) else {
                throw APIError.invalid("order must be created_at or updated_at, got \(text.prefix(64))")
            }
            order = value
        }
        var after: PagePosition?
        if let cursor = query["cursor"], !cursor.isEmpty { after = try PageCursor.decode(String(cursor), order: order) }
        let filter = try listingFilter(query)
        let page = try await memory.episodes(agentID: agent, limit: limit, after: after, order: order, filter: filter)
        var out = "{\"episodes\":["
        for (i, episode) in page.episodes.enumerated() {
            if i > 0 { out += "," }
            EpisodeWire.write(episode, into: &out)
        }
        out += "],\"next_cursor\":"
        if let next = page.next { JSONWriter.writeString(PageCursor.encode(next, order: order), into: &out) } else { out += "null" }
        out += "}"
        return .json(out)
    }

    /// The filter of a listing: `filter` (JSON, as in a retrieval) and the shorthands
    /// `created_after` / `created_before`.
    func listingFilter(_ query: Parameters) throws -> EpisodeFilter? {
        var filter = EpisodeFilter()
        if let text = query["filter"] {
            filter = try APIError.fromWire { () throws(WireError) in try FilterWire.filter(text: String(text), context: "filter") }
        }
        for (name, keyPath) in [("created_after", \EpisodeFilter.createdAfter), ("created_before", \EpisodeFilter.createdBefore)] {
            guard let text = query[Substring(name)] else { continue }
            do { filter[keyPath: keyPath] = try EpisodeTime.parse(rfc3339: String(text)) } catch {
                throw APIError.invalid("\(name): \(text.prefix(64)) is \(error)")
            }
        }
        do { try filter.validate() } catch { throw APIError.from(error) }
        return filter.isEmpty ? nil : filter
    }

    @Sendable func updateEpisode(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let agent = try RequestInput.agent(context), id = try RequestInput.episodeID(context)
        let body = try await RequestInput.body(request, limit: configuration.maxBodyBytes, timeout: configuration.bodyTimeoutSeconds)
        let patch = try APIError.fromWire { () throws(WireError) in try EpisodePatchWire.patch(from: body) }
        let memory = self.memory
        let updated = try await gate.run { try await memory.update(agentID: agent, id: id, patch: patch) }
        return .json(EpisodeWire.json(updated))
    }

    @Sendable func forgetAgent(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let agent = try RequestInput.agent(context)
        let compact = try RequestInput.flag(request, "compact")
        let memory = self.memory
        let deleted = try await gate.run { try await memory.forget(agentID: agent) }
        if compact { try await memory.compact() }
        return .json(.object(["deleted": .number(JSONNumber(deleted)), "compacted": .bool(compact)]))
    }

    @Sendable func deleteEpisodes(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let agent = try RequestInput.agent(context)
        let compact = try RequestInput.flag(request, "compact")
        let body = try await RequestInput.body(request, limit: configuration.maxBodyBytes, timeout: configuration.bodyTimeoutSeconds)
        let filter = try APIError.fromWire { () throws(WireError) in
            try body.allowOnly(["filter"])
            guard let value = body.fields["filter"], !value.isNull else {
                throw WireError("\"filter\" is required (to forget the whole agent: DELETE /agents/{agent_id})")
            }
            return try FilterWire.filter(from: value, context: "\"filter\"")
        }
        let memory = self.memory
        if try await !memory.agentExists(agent) { throw StoreError.unknownAgent(agent) }
        let deleted = try await gate.run { try await memory.delete(agentID: agent, filter: filter) }
        if compact { try await memory.compact() }
        return .json(.object(["deleted": .number(JSONNumber(deleted)), "compacted": .bool(compact)]))
    }

    /// JSON lines of the agent's episodes (newest first), with their vectors when `vectors=true`:
    /// what `episodic import` reads. Streamed a page at a time.
    @Sendable func exportAgent(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let agent = try RequestInput.agent(context)
        let vectors = try RequestInput.flag(request, "vectors")
        let memory = self.memory
        if try await !memory.agentExists(agent) { throw StoreError.unknownAgent(agent) }
        let body = ResponseBody { writer in
            var buffer = ""
            try await memory.forEachEpisode(agentID: agent, vectors: vectors) { episode, stored in
                EpisodeWire.write(episode, vectors: stored, into: &buffer)
                buffer += "\n"
                if buffer.utf8.count > 1 << 16 {
                    try await writer.write(ByteBuffer(string: buffer))
                    buffer = ""
                }
            }
            if !buffer.isEmpty { try await writer.write(ByteBuffer(string: buffer)) }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: body)
    }

    @Sendable func getEpisode(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let episode = try await memory.episode(agentID: try RequestInput.agent(context), id: try RequestInput.episodeID(context))
        return .json(EpisodeWire.json(episode))
    }

    @Sendable func deleteEpisode(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let agent = try RequestInput.agent(context), id = try RequestInput.episodeID(context)
        guard try await memory.delete(agentID: agent, id: id) else { throw StoreError.episodeNotFound(id) }
        return .json(.object(["deleted": .string(id)]))
    }
}
