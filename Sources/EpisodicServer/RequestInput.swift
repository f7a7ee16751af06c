import EpisodicMemory
import EpisodicWire
import Foundation
import Hummingbird

/// What a request brings: a JSON body and decoded, validated path parameters.
enum RequestInput {
    /// Reads at most `limit` bytes of body (413 beyond) within `timeout` seconds (408 beyond) and
    /// parses one JSON object (400 otherwise).
    static func body(_ request: Request, limit: Int, timeout: Double) async throws -> WireObject {
        let buffer: ByteBuffer = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask {
                do {
                    return try await request.body.collect(upTo: limit)
                } catch {
                    throw APIError(.contentTooLarge, "body_too_large", "request body over the limit of \(limit) bytes")
                }
            }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(timeout * 1e9))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let buffer = first else {
                throw APIError(.requestTimeout, "body_timeout", "the request body did not arrive within \(Int(timeout)) s")
            }
            return buffer
        }
        guard buffer.readableBytes > 0 else { throw APIError.invalid("the request needs a JSON body") }
        do {
            return try buffer.withUnsafeReadableBytes { bytes in try WireObject.parse(bytes, context: "body") }
        } catch let error as WireError {
            throw APIError.invalid(error.message)
        }
    }

    /// A path parameter, percent-decoded once and checked like the same field in a body.
    static func identifier(_ context: BasicRequestContext, _ name: String, field: String) throws -> String {
        guard let raw = context.parameters.get(name) else { throw APIError.invalid("missing \(field)") }
        guard let decoded = raw.removingPercentEncoding else {
            throw APIError.invalid("\(field) in the path is not valid percent-encoded UTF-8")
        }
        if let problem = EpisodeRules.identifierProblem(decoded) { throw APIError.invalid("\(field) \(problem)") }
        return decoded
    }

    /// A boolean query parameter (`true`/`false`, `1`/`0`); false when absent.
    static func flag(_ request: Request, _ name: String) throws -> Bool {
        guard let text = request.uri.queryParameters[Substring(name)] else { return false }
        switch text.lowercased() {
        case "true", "1", "": return true
        case "false", "0": return false
        default: throw APIError.invalid("\(name) must be true or false, got \(text.prefix(64))")
        }
    }

    static func agent(_ context: BasicRequestContext) throws -> String {
        try identifier(context, "agent_id", field: "agent_id")
    }

    static func episodeID(_ context: BasicRequestContext) throws -> String {
        try identifier(context, "id", field: "episode id")
    }
}

extension Response {
    /// A JSON response from JSON text.
    static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// A JSON response from a JSON value.
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        json(value.jsonText, status: status)
    }
}
