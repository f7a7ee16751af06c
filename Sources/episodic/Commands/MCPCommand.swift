import ArgumentParser
import CommandSupport
import EpisodicMCP
import EpisodicMemory
import Foundation
import MCP

/// `episodic mcp`: the memory as Model Context Protocol tools over stdio.
struct MCPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve one agent's memory to an MCP client over stdio (tools: remember, recall, forget, recent).",
        discussion: """
            The agent is bound by --agent: the client cannot reach another. Logs go to stderr; stdout \
            carries the protocol. Client configuration (Claude Desktop, Cursor, …):
              {"mcpServers": {"memory": {"command": "episodic", "args": ["--db", "/path/memory.sqlite", "mcp", "--agent", "me"]}}}

            Example:
              episodic --db memory.sqlite mcp --agent planner
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: "The agent whose memory the client uses.")
    var agent: String

    @Option(help: "Threads per model.")
    var threads = 1

    func run() async throws {
        try await reportingFailures {
            if let problem = EpisodeRules.identifierProblem(agent) {
                throw Failure(message: "--agent \(problem)", status: ExitStatus.dataError)
            }
            let memory = try await store.open(create: true) { $0.threads = threads }
            let server = await MemoryTools(memory: memory, binding: .agent(agent)).makeServer()
            try await server.start(transport: StdioTransport())
            await server.waitUntilCompleted()
            await memory.close()
        }
    }
}
