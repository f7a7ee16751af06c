import ArgumentParser
import CommandSupport
import EpisodicMemory
import EpisodicWire
import Foundation

/// `episodic export`: an agent's (or every agent's) episodes as JSON lines, which `import` reads.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write episodes as JSON lines (the shape `import` reads), with or without their vectors.",
        discussion: """
            Newest first within each agent. With --vectors every stored vector is included, so \
            that another store (SQLite or PostgreSQL) imports them without re-embedding.

            Examples:
              episodic --db memory.sqlite export --agent planner > planner.jsonl
              episodic --db memory.sqlite export --vectors | episodic --db postgres://u@host/db import -
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: "Only this agent (default: every agent).")
    var agent: String?

    @Flag(help: "Include the stored vectors.")
    var vectors = false

    func run() async throws {
        try await reportingFailures {
            let memory = try await store.open(readOnly: true)
            if let agent, try await memory.agentEpisodeCounts()[agent] == nil { throw StoreError.unknownAgent(agent) }
            var buffer = ""
            let out = FileHandle.standardOutput
            try await memory.forEachEpisode(agentID: agent, vectors: vectors) { episode, stored in
                EpisodeWire.write(episode, vectors: stored, into: &buffer)
                buffer += "\n"
                if buffer.utf8.count > 1 << 20 {
                    out.write(Data(buffer.utf8))
                    buffer = ""
                }
            }
            out.write(Data(buffer.utf8))
            await memory.close()
        }
    }
}
