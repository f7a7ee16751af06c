import EpisodicMemory
import EpisodicWire
import Foundation
import MCP

/// Which agent's memory an MCP connection reaches.
public enum MCPAgentBinding: Sendable {
    /// One agent, fixed by whoever started the server (`episodic mcp --agent A`).
    case agent(String)
    /// An API key's scope: its one agent when it names exactly one, else the `agent` argument of
    /// each call, checked against the scope.
    case key(APIKeyRecord)
    /// Any agent, named by each call's `agent` argument (a loopback server without keys).
    case anyAgent
}

/// The memory as four MCP tools — `remember`, `recall`, `forget`, `recent` — each with a JSON
/// Schema and a description an LLM can act on. Results are readable text plus structured
/// content; failures are tool errors carrying the same messages as the HTTP API.
public struct MemoryTools: Sendable {
    public let memory: EpisodicMemory
    public let binding: MCPAgentBinding

    public init(memory: EpisodicMemory, binding: MCPAgentBinding) {
        self.memory = memory
        self.binding = binding
    }

    /// A server with the tools registered (start it on a transport).
    public func makeServer() async -> Server {
        let server = Server(
            name: "episodic", version: "1.0.0", title: "EpisodicMemory",
            instructions:
                "Long-term episodic memory. Call `remember` for facts, events and preferences worth keeping; call `recall` with a question before answering from memory; `recent` shows the latest; `forget` deletes by id.",
            capabilities: .init(tools: .init(listChanged: false)))
        let tools = self.tools
        await server.withMethodHandler(ListTools.self) { _ in .init(tools: tools) }
        await server.withMethodHandler(CallTool.self) { params in await self.call(params.name, arguments: params.arguments ?? [:]) }
        return server
    }

    /// Whether calls must name the agent (a key covering several).
    var needsAgentArgument: Bool {
        switch binding {
        case .agent: return false
        case .key(let key): return key.scope.soleAgent == nil
        case .anyAgent: return true
        }
    }

    public var tools: [Tool] {
        var agentProperty: [String: Value] = [:]
        if needsAgentArgument {
            agentProperty["agent"] = .object(["type": "string", "description": "the agent whose memory to use (one your key covers)"])
        }
        let required: (Value) -> Value = { base in
            guard case .array(var names) = base else { return base }
            if needsAgentArgument { names.append("agent") }
            return .array(names)
        }
        func schema(_ properties: [String: Value], required names: [Value]) -> Value {
            .object([
                "type": "object", "properties": .object(properties.merging(agentProperty) { a, _ in a }),
                "required": required(.array(names)),
            ])
        }
        return [
            Tool(
                name: "remember", description: "Store something worth remembering (an event, a fact, a preference) in long-term memory.",
                inputSchema: schema(
                    [
                        "content": .object(["type": "string", "description": "what happened or what was said, in full"]),
                        "summary": .object(["type": "string", "description": "optional short form, searched instead of the content"]),
                        "metadata": .object(["type": "object", "description": "optional tags, e.g. {\"tool\": \"flights\"}"]),
                        "id": .object([
                            "type": "string", "description": "optional id; repeating a call with the same id stores nothing twice",
                        ]),
                    ], required: ["content"]),
                annotations: .init(readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false)),
            Tool(
                name: "recall", description: "Search long-term memory for what is relevant to a question; best matches first.",
                inputSchema: schema(
                    [
                        "query": .object(["type": "string", "description": "the question or topic"]),
                        "limit": .object(["type": "integer", "minimum": 1, "maximum": 50, "default": 5]),
                        "filters": .object([
                            "type": "object",
                            "description":
                                "optional: {\"metadata\": {\"tool\": \"flights\", \"status\": {\"in\": [\"open\", \"done\"]}}, \"created_after\": \"2026-11-01T00:00:00Z\", \"created_before\": …, \"exclude_ids\": […]}",
                        ]),
                    ], required: ["query"]),
                annotations: .init(readOnlyHint: true, openWorldHint: false)),
            Tool(
                name: "forget", description: "Delete one memory by its id (from recall or recent).",
                inputSchema: schema(["id": .object(["type": "string", "description": "the memory's id"])], required: ["id"]),
                annotations: .init(readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false)),
            Tool(
                name: "recent", description: "The most recent memories, newest first.",
                inputSchema: schema(["limit": .object(["type": "integer", "minimum": 1, "maximum": 100, "default": 10])], required: []),
                annotations: .init(readOnlyHint: true, openWorldHint: false)),
        ]
    }

    /// A tool failure: the message an HTTP client would get.
    struct ToolFailure: Error {
        var message: String
    }

    /// Runs a tool call; never throws (failures are tool errors).
    public func call(_ name: String, arguments: [String: Value]) async -> CallTool.Result {
        do {
            let agent = try resolveAgent(arguments["agent"])
            switch name {
            case "remember": return try await remember(agent, arguments)
            case "recall": return try await recall(agent, arguments)
            case "forget": return try await forget(agent, arguments)
            case "recent": return try await recent(agent, arguments)
            default: throw ToolFailure(message: "unknown tool \(name); the tools are remember, recall, forget, recent")
            }
        } catch let failure as ToolFailure {
            return .init(content: [.text(text: failure.message, annotations: nil, _meta: nil)], isError: true)
        } catch let error as WireError {
            return .init(content: [.text(text: error.message, annotations: nil, _meta: nil)], isError: true)
        } catch {
            return .init(content: [.text(text: "\(error)", annotations: nil, _meta: nil)], isError: true)
        }
    }

    func resolveAgent(_ argument: Value?) throws -> String {
        switch binding {
        case .agent(let agent):
            if let given = argument?.stringValue, given != agent {
                throw ToolFailure(message: "this connection is bound to agent \(agent)")
            }
            return agent
        case .anyAgent:
            guard let agent = argument?.stringValue else { throw ToolFailure(message: "give \"agent\": the agent whose memory to use") }
            if let problem = EpisodeRules.identifierProblem(agent) { throw ToolFailure(message: "agent \(problem)") }
            return agent
        case .key(let key):
            if let sole = key.scope.soleAgent, argument?.stringValue ?? sole == sole { return sole }
            guard let agent = argument?.stringValue else { throw ToolFailure(message: "give \"agent\": this key covers several agents") }
            guard key.scope.allows(agent: agent) else { throw ToolFailure(message: "this key does not cover that agent") }
            return agent
        }
    }

    func requireWrites() throws {
        if case .key(let key) = binding, key.scope.readOnly { throw ToolFailure(message: "this key is read-only") }
    }

    func remember(_ agent: String, _ arguments: [String: Value]) async throws -> CallTool.Result {
        try requireWrites()
        var fields: [String: JSONValue] = [:]
        for key in ["content", "summary", "metadata", "id"] { if let v = arguments[key] { fields[key] = Self.json(v) } }
        let item = try EpisodeWire.episode(from: try WireObject(.object(fields), context: "arguments"), agentID: agent)
        let outcome = try await memory.insert([item])[0]
        let text = outcome.created ? "Remembered (id \(outcome.episode.id))." : "Already remembered (id \(outcome.episode.id))."
        return .init(
            content: [.text(text: text, annotations: nil, _meta: nil)],
            structuredContent: .object(["id": .string(outcome.episode.id), "created": .bool(outcome.created)]))
    }

    func recall(_ agent: String, _ arguments: [String: Value]) async throws -> CallTool.Result {
        guard let query = arguments["query"]?.stringValue, !query.allSatisfy(\.isWhitespace) else {
            throw ToolFailure(message: "\"query\" is required")
        }
        let limit = try Self.integer(arguments["limit"], name: "limit", range: 1...50) ?? 5
        var options = RetrievalOptions(limit: limit, timeBudgetMs: 2000)
        if let filters = arguments["filters"], !filters.isNull {
            options.filter = try FilterWire.filter(from: Self.json(filters), context: "\"filters\"")
        }
        guard try await memory.agentExists(agent) else {
            return .init(
                content: [.text(text: "Nothing remembered yet.", annotations: nil, _meta: nil)],
                structuredContent: .object(["results": .array([])]))
        }
        let response = try await memory.retrieve(agentID: agent, query: query, options: options)
        let results = response.results.map { ($0.episode, $0.finalScore) }
        return Self.listing(results, empty: "No memory matches.")
    }

    func forget(_ agent: String, _ arguments: [String: Value]) async throws -> CallTool.Result {
        try requireWrites()
        guard let id = arguments["id"]?.stringValue else { throw ToolFailure(message: "\"id\" is required") }
        guard try await memory.delete(agentID: agent, id: id) else { throw StoreError.episodeNotFound(id) }
        return .init(
            content: [.text(text: "Forgot \(id).", annotations: nil, _meta: nil)], structuredContent: .object(["deleted": .string(id)]))
    }

    func recent(_ agent: String, _ arguments: [String: Value]) async throws -> CallTool.Result {
        let limit = try Self.integer(arguments["limit"], name: "limit", range: 1...100) ?? 10
        let page = try await memory.episodes(agentID: agent, limit: limit)
        return Self.listing(page.episodes.map { ($0, nil) }, empty: "Nothing remembered yet.")
    }

    /// Numbered lines for the model to read, and the same episodes as structured content.
    static func listing(_ items: [(Episode, Double?)], empty: String) -> CallTool.Result {
        guard !items.isEmpty else {
            return .init(content: [.text(text: empty, annotations: nil, _meta: nil)], structuredContent: .object(["results": .array([])]))
        }
        var lines: [String] = []
        var structured: [Value] = []
        for (i, (episode, score)) in items.enumerated() {
            let when = EpisodeTime.rfc3339(episode.createdAt)
            lines.append("\(i + 1). \(episode.content) (id \(episode.id), \(when))")
            var object: [String: Value] = [
                "id": .string(episode.id), "content": .string(episode.content), "created_at": .string(when),
                "metadata": value(.object(episode.metadata)),
            ]
            if let summary = episode.summary { object["summary"] = .string(summary) }
            if let score { object["score"] = .double(score) }
            structured.append(.object(object))
        }
        return .init(
            content: [.text(text: lines.joined(separator: "\n"), annotations: nil, _meta: nil)],
            structuredContent: .object(["results": .array(structured)]))
    }

    static func integer(_ value: Value?, name: String, range: ClosedRange<Int>) throws -> Int? {
        guard let value, !value.isNull else { return nil }
        let n: Int? = value.intValue ?? value.doubleValue.flatMap { $0.rounded() == $0 ? Int(exactly: $0) : nil }
        guard let n, range.contains(n) else {
            throw ToolFailure(message: "\"\(name)\" must be an integer in \(range.lowerBound)…\(range.upperBound)")
        }
        return n
    }

    /// MCP values as the JSON values the wire parsers read.
    static func json(_ value: Value) -> JSONValue {
        switch value {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .number(JSONNumber(i))
        case .double(let d): return JSONNumber(d).map(JSONValue.number) ?? .null
        case .string(let s): return .string(s)
        case .data(_, let data): return .string(data.base64EncodedString())
        case .array(let items): return .array(items.map(json))
        case .object(let members): return .object(members.mapValues(json))
        }
    }

    static func value(_ json: JSONValue) -> Value {
        switch json {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .number(let n): return n.int.map(Value.int) ?? .double(n.double)
        case .string(let s): return .string(s)
        case .array(let items): return .array(items.map(value))
        case .object(let members): return .object(members.mapValues(value))
        }
    }
}
