import ArgumentParser
import CommandSupport
import EpisodicMemory
import Foundation

/// `episodic forget`: everything of one agent.
struct ForgetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget",
        abstract: "Forget an agent: every episode, vector and text index entry of it.",
        discussion: """
            With --compact the store is rewritten afterwards (SQLite: change log pruned, text index \
            merged, VACUUM, WAL truncated; PostgreSQL: VACUUM), so that none of the agent's text \
            remains in the store's files. Exit status 66 when the agent has no episodes.

            Example:
              episodic forget --agent planner --compact
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: "The agent to forget.")
    var agent: String

    @Flag(help: "Rewrite the store afterwards so that nothing of the agent stays in its files.")
    var compact = false

    func run() async throws {
        try await reportingFailures {
            let memory = try await store.open()
            let n = try await memory.forget(agentID: agent)
            if compact { try await memory.compact() }
            await memory.close()
            print("forgot \(agent): \(n) episode\(n == 1 ? "" : "s")\(compact ? "; store compacted" : "")")
        }
    }
}

/// `episodic compact`: rewrite the store without deleted data.
struct CompactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Rewrite the store so that deleted episodes leave nothing in its files (SQLite: VACUUM).",
        discussion: """
            Takes about as long as copying the store; writers wait meanwhile.

            Example:
              episodic --db memory.sqlite compact
            """)

    @OptionGroup var store: StoreOptions

    func run() async throws {
        try await reportingFailures {
            let memory = try await store.open()
            try await memory.compact()
            let stats = try await memory.stats()
            await memory.close()
            print("compacted \(stats.location): \(stats.bytes) bytes")
        }
    }
}
