import HTTPTypes
import Hummingbird

/// One operation of the API: the router and the OpenAPI document are both built from the route
/// table, so they cannot drift apart.
struct APIRoute: Sendable {
    var method: HTTPRequest.Method
    /// OpenAPI-style path: `/agents/{agent_id}/episodes/{id}`.
    var path: String
    var operationID: String
    var summary: String
    var requestSchema: String?
    var responseSchema: String
    var successStatus: Int = 200
    /// Another success status with the same response (e.g. 200 for a write that found its episode).
    var alternateSuccessStatus: Int? = nil
    var queryParameters: [QueryParameter] = []
    var errors: [Int]
    var handler: @Sendable (Request, BasicRequestContext) async throws -> Response

    struct QueryParameter: Sendable {
        var name: String
        var description: String
        /// JSON Schema of the value.
        var schema: [String: JSONSchemaValue]
    }

    /// Hummingbird's form of the path: `{name}` → `:name`.
    var routerPath: String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix("{") ? ":" + segment.dropFirst().dropLast() : String(segment)
        }.joined(separator: "/")
    }
}

/// A JSON Schema fragment that is `Sendable` (a `[String: Any]` is not).
enum JSONSchemaValue: Sendable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case strings([String])

    var any: Any {
        switch self {
        case .string(let s): s
        case .int(let i): i
        case .bool(let b): b
        case .strings(let a): a
        }
    }
}
