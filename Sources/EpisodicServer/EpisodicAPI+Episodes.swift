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
        let stored = try await gate.run { try await memory.add(batch) }
        return .json(.object(["ids": .array(stored.map { .string($0.id) })]), status: .created)
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
        var after: PagePosition?
        if let cursor = query["cursor"], !cursor.isEmpty { after = try PageCursor.decode(String(cursor)) }
        let page = try await memory.episodes(agentID: agent, limit: limit, after: after)
        var out = "{\"episodes\":["
        for (i, episode) in page.episodes.enumerated() {
            if i > 0 { out += "," }
            EpisodeWire.write(episode, into: &out)
        }
        out += "],\"next_cursor\":"
        if let next = page.next { JSONWriter.writeString(PageCursor.encode(next), into: &out) } else { out += "null" }
        out += "}"
        return .json(out)
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
