import Foundation
import MCP
import SystemPackage
import TestSupport
import Testing

/// `episodic mcp` as a child process, driven by the swift-sdk's `Client` over its stdin/stdout;
/// and `serve`'s refusal to listen on a public address without keys.
@Suite struct MCPCommandTests {
    static func text(_ content: [Tool.Content]) -> String {
        content.compactMap { if case .text(let text, _, _) = $0 { text } else { nil } }.joined(separator: "\n")
    }

    @Test func aConversationOverStdio() async throws {
        let directory = try TemporaryDirectory("episodic-mcp")
        let db = directory.path("m.sqlite")
        let process = Process()
        process.executableURL = CLIRunner.binary
        process.arguments = ["--db", db, "mcp", "--agent", "planner"]
        let toChild = Pipe(), fromChild = Pipe(), errors = Pipe()
        process.standardInput = toChild
        process.standardOutput = fromChild
        process.standardError = errors
        try process.run()
        defer { directory.remove() }
        // The child is stopped after the conversation, whether it succeeded or threw, and awaited
        // without holding a thread of the cooperative pool (which a `defer` could not do).
        var failure: (any Error)?
        do { try await Self.converse(fromChild: fromChild, toChild: toChild) } catch { failure = error }
        process.terminate()
        #expect(await process.exit(within: 30), "episodic mcp did not stop on SIGTERM")
        if let failure { throw failure }
    }

    static func converse(fromChild: Pipe, toChild: Pipe) async throws {
        let transport = StdioTransport(
            input: FileDescriptor(rawValue: fromChild.fileHandleForReading.fileDescriptor),
            output: FileDescriptor(rawValue: toChild.fileHandleForWriting.fileDescriptor))
        let client = Client(name: "episodic-tests", version: "1.0")
        let initialized = try await client.connect(transport: transport)
        #expect(initialized.serverInfo.name == "episodic" && initialized.capabilities.tools != nil)
        let (tools, _) = try await client.listTools()
        #expect(tools.map(\.name).sorted() == ["forget", "recall", "recent", "remember"])
        let (stored, storedError) = try await client.callTool(
            name: "remember", arguments: ["content": "The dentist appointment is on Thursday at 3 pm", "id": "dentist"])
        #expect(storedError != true, "\(Self.text(stored))")
        let (retried, _) = try await client.callTool(
            name: "remember", arguments: ["content": "The dentist appointment is on Thursday at 3 pm", "id": "dentist"])
        #expect(Self.text(retried).contains("Already remembered"))
        _ = try await client.callTool(name: "remember", arguments: ["content": "Bought a new bicycle helmet"])
        let (recalled, _) = try await client.callTool(name: "recall", arguments: ["query": "when do I see the dentist?"])
        #expect(Self.text(recalled).hasPrefix("1. The dentist appointment"), "\(Self.text(recalled))")
        // The agent is bound by the command line.
        let (other, otherError) = try await client.callTool(name: "recent", arguments: ["agent": "someone-else"])
        #expect(otherError == true && Self.text(other).contains("bound to agent planner"))
        let (forgot, forgotError) = try await client.callTool(name: "forget", arguments: ["id": "dentist"])
        #expect(forgotError != true, "\(Self.text(forgot))")
        let (recent, _) = try await client.callTool(name: "recent", arguments: [:])
        #expect(Self.text(recent).hasPrefix("1. Bought a new bicycle helmet") && !Self.text(recent).contains("dentist"))
        let (unknown, unknownError) = try await client.callTool(name: "teleport", arguments: [:])
        #expect(unknownError == true && Self.text(unknown).contains("unknown tool"))
        await client.disconnect()
    }

    @Test func servingAPublicAddressWithoutKeysIsRefused() async throws {
        let directory = try TemporaryDirectory("episodic-serve-auth")
        defer { directory.remove() }
        let db = directory.path("m.sqlite")
        let refused = try await CLIRunner.run(["--db", db, "serve", "--host", "0.0.0.0", "--port", "0", "--auth", "off"])
        #expect(refused.status == 64, "\(refused.stderr)")
        #expect(refused.stderr.contains("refusing to serve 0.0.0.0 without API keys") && refused.stderr.contains("--insecure-no-auth"))
        #expect(!FileManager.default.fileExists(atPath: db))
    }
}
