import EpisodicMCP
import EpisodicMemory
import Foundation
import HTTPTypes
import Hummingbird
import MCP

extension EpisodicAPI {
    /// `/mcp`: the Model Context Protocol over streamable HTTP (JSON responses, no sessions). The
    /// agent is bound by the request's API key (or, without keys, named by each tool call). Each
    /// request is served by a fresh protocol server: nothing of one client's connection can reach
    /// another's.
    @Sendable func mcp(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let binding: MCPAgentBinding = RequestKey.current.map { .key($0) } ?? .anyAgent
        var body: Data?
        if request.method == .post {
            let buffer = try await request.body.collect(upTo: configuration.maxBodyBytes)
            body = Data(buffer.readableBytesView)
        }
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.rawName] = field.value }
        let transport = StatelessHTTPServerTransport()
        let server = await MemoryTools(memory: memory, binding: binding).makeServer()
        try await server.start(transport: transport)
        let answer = await transport.handleRequest(
            MCP.HTTPRequest(method: request.method.rawValue, headers: headers, body: body, path: request.uri.path))
        await server.stop()
        var fields = HTTPFields()
        for (name, value) in answer.headers {
            if let fieldName = HTTPField.Name(name) { fields[fieldName] = value }
        }
        let status = HTTPResponse.Status(code: answer.statusCode)
        guard let data = answer.bodyData else { return Response(status: status, headers: fields) }
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
