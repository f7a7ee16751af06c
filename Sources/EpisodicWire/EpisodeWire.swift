import EpisodicMemory
import Foundation

/// The JSON of an episode — what `POST /agents/{agent_id}/episodes` and `episodic import` read,
/// and what every response, `get` and `export` write. One parser for both doors, so that they
/// accept exactly the same things.
///
/// In: `{"id"?, "agent_id"?, "content", "summary"?, "metadata"?, "created_at"?, "updated_at"?,
/// "vectors"?, "dedup"?}` — dates as RFC 3339 or Unix seconds, `vectors` as column name → array of
/// numbers. A client-chosen `id` makes the write idempotent (``NewEpisode/idempotent``);
/// `"dedup": true` returns the agent's episode with the same normalised content instead of adding
/// another (``NewEpisode/deduplicate``).
/// Out: every field of ``Episode`` in snake_case, optionals as `null`, dates as RFC 3339 UTC with
/// milliseconds.
public enum EpisodeWire {
    /// The fields an episode object may have.
    public static let inputFields: Set<String> = [
        "id", "agent_id", "content", "summary", "metadata", "created_at", "updated_at", "vectors", "dedup",
    ]

    /// An episode from a JSON object. `agentID` is the owner given by the context (the URL's
    /// agent): a different `agent_id` in the object is refused; without it, `agent_id` is required.
    public static func episode(from object: WireObject, agentID: String?) throws(WireError) -> NewEpisode {
        try object.allowOnly(inputFields)
        let agent: String
        switch (agentID, try object.string("agent_id")) {
        case (let path?, let body?) where body != path:
            throw WireError("\(object.name("agent_id")) \"\(body)\" differs from the path's \"\(path)\"")
        case (let path?, _): agent = path
        case (nil, let body?): agent = body
        case (nil, nil): throw WireError("\(object.name("agent_id")) is required")
        }
        var episode = Episode(agentID: agent, content: try object.requiredString("content"), summary: try object.string("summary"))
        if let id = try object.string("id") { episode.id = id }
        if let metadata = try object.object("metadata") { episode.metadata = metadata }
        if object.has("created_at") { episode.createdAt = try date(object.fields["created_at"]!, field: object.name("created_at")) }
        episode.updatedAt = episode.createdAt
        if object.has("updated_at") {
            episode.updatedAt = try date(object.fields["updated_at"]!, field: object.name("updated_at"))
            guard episode.updatedAt >= episode.createdAt else {
                throw WireError("\(object.name("updated_at")) is before \(object.name("created_at"))")
            }
        }
        var vectors: [String: [Float]] = [:]
        for (column, value) in try object.object("vectors") ?? [:] {
            guard let numbers = value.arrayValue else { throw WireError("\(object.name("vectors")).\(column) must be an array of numbers") }
            var vector: [Float] = []
            vector.reserveCapacity(numbers.count)
            for number in numbers {
                guard let n = number.numberValue, let f = Float(n.literal) else {
                    throw WireError("\(object.name("vectors")).\(column) must be an array of numbers, found \(number.kind)")
                }
                vector.append(f)
            }
            vectors[column] = vector
        }
        return NewEpisode(episode, vectors: vectors, idempotent: object.has("id"), deduplicate: try object.bool("dedup") ?? false)
    }

    /// A `created_at`: RFC 3339 text or Unix seconds, within the store's range.
    public static func date(_ value: JSONValue, field: String) throws(WireError) -> Date {
        switch value {
        case .string(let text):
            do { return try EpisodeTime.parse(rfc3339: text) } catch { throw WireError("\(field): \(text.prefix(64)) is \(error)") }
        case .number(let n):
            guard let date = EpisodeTime.date(unixSeconds: n.double) else {
                throw WireError("\(field): \(n.literal) Unix seconds is outside \(EpisodeTime.rangeDescription)")
            }
            return date
        default:
            throw WireError("\(field) must be an RFC 3339 date-time or Unix seconds, got \(value.kind)")
        }
    }

    /// The JSON of `episode` (with `vectors` when given).
    public static func json(_ episode: Episode, vectors: [String: [Float]]? = nil) -> String {
        var out = ""
        write(episode, vectors: vectors, into: &out)
        return out
    }

    /// Appends the JSON of `episode` to `out`.
    public static func write(_ e: Episode, vectors: [String: [Float]]? = nil, into out: inout String) {
        func key(_ k: String) { JSONWriter.writeString(k, into: &out); out += ":" }
        func optionalString(_ s: String?) { if let s { JSONWriter.writeString(s, into: &out) } else { out += "null" } }
        out += "{"
        key("agent_id"); JSONWriter.writeString(e.agentID, into: &out)
        out += ","; key("content"); JSONWriter.writeString(e.content, into: &out)
        out += ","; key("created_at"); JSONWriter.writeString(EpisodeTime.rfc3339(e.createdAt), into: &out)
        out += ","; key("embedding_cached"); out += e.embeddingCached ? "true" : "false"
        out += ","; key("embedding_cached_at"); optionalString(e.embeddingCachedAt.map(EpisodeTime.rfc3339))
        out += ","; key("fastembed_cached"); out += e.fastembedCached ? "true" : "false"
        out += ","; key("fastembed_cached_at"); optionalString(e.fastembedCachedAt.map(EpisodeTime.rfc3339))
        out += ","; key("id"); JSONWriter.writeString(e.id, into: &out)
        out += ","; key("metadata"); JSONWriter.write(.object(e.metadata), into: &out)
        out += ","; key("summary"); optionalString(e.summary)
        out += ","; key("updated_at"); JSONWriter.writeString(EpisodeTime.rfc3339(e.updatedAt), into: &out)
        if let vectors {
            out += ","; key("vectors"); out += "{"
            for (i, column) in vectors.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                key(column)
                out += "["
                for (j, x) in vectors[column]!.enumerated() {
                    if j > 0 { out += "," }
                    JSONWriter.writeNumber(x, into: &out)
                }
                out += "]"
            }
            out += "}"
        }
        out += "}"
    }
}
