import EpisodeStore
import Foundation
import Hummingbird

/// A JSON object from a request body, with typed accessors whose errors name the field.
struct JSONBody {
    let fields: [String: Any]

    /// Reads at most `limit` bytes of body (413 beyond) and parses a JSON object (400 otherwise).
    static func read(_ request: Request, limit: Int) async throws -> JSONBody {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            throw APIError(.contentTooLarge, "body_too_large", "request body over the limit of \(limit) bytes")
        }
        let data = Data(buffer: buffer)
        guard !data.isEmpty else { throw APIError.invalid("the request needs a JSON body") }
        guard String(validating: data, as: UTF8.self) != nil else { throw APIError.invalid("the body is not valid UTF-8") }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw APIError.invalid("the body is not a JSON object")
        }
        return JSONBody(fields: object)
    }

    /// Refuses fields outside `allowed` (a typo such as "top-k" would otherwise be ignored silently).
    func allowOnly(_ allowed: Set<String>, in context: String = "body") throws {
        if let extra = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw APIError.invalid("unknown field \"\(extra)\" in the \(context); allowed: \(allowed.sorted().joined(separator: ", "))")
        }
    }

    func has(_ key: String) -> Bool { fields[key] != nil && !(fields[key] is NSNull) }

    func string(_ key: String) throws -> String? {
        guard has(key) else { return nil }
        guard let s = fields[key] as? String else { throw APIError.invalid("\"\(key)\" must be a string") }
        return s
    }

    func requiredString(_ key: String) throws -> String {
        guard let s = try string(key) else { throw APIError.invalid("\"\(key)\" is required") }
        return s
    }

    func bool(_ key: String) throws -> Bool? {
        guard has(key) else { return nil }
        guard let n = fields[key] as? NSNumber, Self.isBool(n) else { throw APIError.invalid("\"\(key)\" must be true or false") }
        return n.boolValue
    }

    func int(_ key: String, range: ClosedRange<Int>) throws -> Int? {
        guard has(key) else { return nil }
        guard let n = fields[key] as? NSNumber, !Self.isBool(n), n.doubleValue == n.doubleValue.rounded(),
              let value = Int(exactly: n.doubleValue) else {
            throw APIError.invalid("\"\(key)\" must be an integer")
        }
        guard range.contains(value) else { throw APIError.invalid("\"\(key)\" must be in \(range.lowerBound)…\(range.upperBound), got \(value)") }
        return value
    }

    private static let booleanClass = type(of: NSNumber(value: true))
    static func isBool(_ n: NSNumber) -> Bool { type(of: n) == booleanClass }

    /// An episode of `agentID` from a JSON object: content, summary?, metadata?, id?, created_at?,
    /// vectors? (column name → array of numbers).
    static func episode(_ object: Any, agentID: String, index: Int?) throws -> (episode: Episode, vectors: [String: [Float]]) {
        let where_ = index.map { "episodes[\($0)]" } ?? "body"
        guard let fields = object as? [String: Any] else { throw APIError.invalid("\(where_) must be a JSON object") }
        let body = JSONBody(fields: fields)
        try body.allowOnly(["id", "agent_id", "content", "summary", "metadata", "created_at", "vectors"], in: where_)
        if let other = try body.string("agent_id"), other != agentID {
            throw APIError.invalid("\(where_): agent_id \"\(other)\" differs from the path's \"\(agentID)\"")
        }
        var episode = Episode(agentID: agentID, content: try body.requiredString("content"), summary: try body.string("summary"))
        if let id = try body.string("id") { episode.id = id }
        if body.has("metadata") {
            guard let value = JSONValue(any: fields["metadata"]!), case .object(let metadata) = value else {
                throw APIError.invalid("\(where_): \"metadata\" must be a JSON object")
            }
            episode.metadata = metadata
        }
        if let created = try body.string("created_at") {
            guard let date = Dates.parse(created) else { throw APIError.invalid("\(where_): \"created_at\" must be an ISO 8601 date") }
            episode.createdAt = date
        }
        var vectors: [String: [Float]] = [:]
        if body.has("vectors") {
            guard let map = fields["vectors"] as? [String: Any] else { throw APIError.invalid("\(where_): \"vectors\" must map column names to arrays") }
            for (column, value) in map {
                guard let numbers = value as? [Any], numbers.allSatisfy({ ($0 as? NSNumber).map { !isBool($0) } ?? false }) else {
                    throw APIError.invalid("\(where_): vectors.\(column) must be an array of numbers")
                }
                vectors[column] = numbers.map { ($0 as! NSNumber).floatValue }
            }
        }
        return (episode, vectors)
    }
}

extension Response {
    /// A JSON response from an `Encodable` value.
    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(bytes: try APIModels.encode(value))))
    }

    /// A JSON response from a `JSONSerialization` object.
    static func jsonObject(_ value: Any, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes]))))
    }
}
