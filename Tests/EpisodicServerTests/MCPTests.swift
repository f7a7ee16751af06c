import EpisodicMemory
import Foundation
import Hummingbird
import HummingbirdTesting
import MCP
import TestSupport
import Testing

@testable import EpisodicServer

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `/mcp` driven by the swift-sdk's own `Client` over HTTP against the API on 127.0.0.1.
@Suite struct MCPTests {
    static func client(port: Int, key: String) async throws -> Client {
        let transport = HTTPClientTransport(
            endpoint: URL(string: "http://127.0.0.1:\(port)/mcp")!, streaming: false,
            requestModifier: { request in
                var request = request
                request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
                return request
            })
        let client = Client(name: "episodic-tests", version: "1.0")
        _ = try await client.connect(transport: transport)
        return client
    }

    static func text(_ content: [Tool.Content]) -> String {
        content.compactMap { if case .text(let text, _, _) = $0 { text } else { nil } }.joined(separator: "\n")
    }

    @Test(arguments: Backend.allCases)
    func aConversationOverHTTPWithKeys(_ backend: Backend) async throws {
        try await ServerFixture.with(api: { $0.authentication = .required }, backend: backend) { f in
            let mine = try await f.memory.createKey(name: "planner", scope: APIKeyScope(agents: ["planner"]))
            let theirs = try await f.memory.createKey(name: "other", scope: APIKeyScope(agents: ["other"]))
            let team = try await f.memory.createKey(name: "team", scope: APIKeyScope(agentPrefixes: ["team/"], readOnly: true))
            try await f.live { testClient in
                let port = try #require(testClient.port)
                let client = try await Self.client(port: port, key: mine.secret)
                let (tools, _) = try await client.listTools()
                #expect(Set(tools.map(\.name)) == ["remember", "recall", "forget", "recent"])
                #expect(tools.allSatisfy { ($0.description ?? "").count > 10 })
                // A key for one agent: no "agent" argument in the schemas.
                #expect(tools.allSatisfy { $0.inputSchema.objectValue?["properties"]?.objectValue?["agent"] == nil })

                let (stored, storedError) = try await client.callTool(
                    name: "remember", arguments: ["content": "Booked flight TP1355 to Lisbon, seat 14A", "metadata": ["tool": "flights"]])
                #expect(storedError != true, "\(Self.text(stored))")
                let id = try #require(
                    Self.text(stored).split(separator: " ").last.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: ").")) })
                _ = try await client.callTool(name: "remember", arguments: ["content": "Alice is vegetarian"])
                let (recalled, recallError) = try await client.callTool(
                    name: "recall", arguments: ["query": "which seat do I have?", "limit": 2])
                #expect(recallError != true)
                #expect(Self.text(recalled).hasPrefix("1. Booked flight TP1355"), "\(Self.text(recalled))")
                let (filtered, _) = try await client.callTool(
                    name: "recall", arguments: ["query": "food", "filters": ["metadata": ["tool": "flights"]]])
                #expect(!Self.text(filtered).contains("vegetarian"))
                let (badFilter, badFilterError) = try await client.callTool(
                    name: "recall", arguments: ["query": "x", "filters": ["metadata": ["tool": ["gt": 1]]]])
                #expect(badFilterError == true && Self.text(badFilter).contains("\"gt\""))
                let (recent, _) = try await client.callTool(name: "recent", arguments: ["limit": 5])
                #expect(Self.text(recent).hasPrefix("1. Alice is vegetarian"))
                let (forgot, forgetError) = try await client.callTool(name: "forget", arguments: ["id": .string(id)])
                #expect(forgetError != true, "\(Self.text(forgot))")
                #expect(try await f.memory.episodes(agentID: "planner").episodes.map(\.content) == ["Alice is vegetarian"])
                let (again, againError) = try await client.callTool(name: "forget", arguments: ["id": .string(id)])
                #expect(againError == true && Self.text(again).contains("no episode"))
                await client.disconnect()

                // Another agent's key: its own memory only.
                let intruder = try await Self.client(port: port, key: theirs.secret)
                let (denied, deniedError) = try await intruder.callTool(
                    name: "recall", arguments: ["query": "vegetarian", "agent": "planner"])
                #expect(deniedError == true && !Self.text(denied).contains("Alice"))
                let (own, _) = try await intruder.callTool(name: "recall", arguments: ["query": "vegetarian"])
                #expect(!Self.text(own).contains("Alice"))
                await intruder.disconnect()

                // A read-only key over several agents: "agent" is required and writes are refused.
                let reader = try await Self.client(port: port, key: team.secret)
                let (readerTools, _) = try await reader.listTools()
                #expect(readerTools.allSatisfy { $0.inputSchema.objectValue?["properties"]?.objectValue?["agent"] != nil })
                let (write, writeError) = try await reader.callTool(name: "remember", arguments: ["content": "x", "agent": "team/a"])
                #expect(writeError == true && Self.text(write).contains("read-only"))
                let (outside, outsideError) = try await reader.callTool(name: "recent", arguments: ["agent": "planner"])
                #expect(outsideError == true && !Self.text(outside).contains("Alice"))
                await reader.disconnect()

                // No key: the HTTP answer is a 401, and the client reports it.
                await #expect(throws: (any Error).self) { _ = try await Self.client(port: port, key: "epm_0000000000000000_nope") }
            }
        }
    }
}
