import ArgumentParser
import CommandSupport
import EpisodicMemory
import EpisodicWire
import Foundation

/// `episodic delete`: one episode by id, or those passing a filter.
struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete an episode (by id) or the episodes passing a filter, with their vectors.",
        discussion: """
            --filter takes the JSON of a retrieval filter: {"metadata": {"tool": "flights", \
            "status": {"in": ["open", "done"]}}, "created_after": "…", "created_before": "…", \
            "exclude_ids": […]}. --compact then rewrites the store (SQLite: VACUUM) so that the \
            deleted text is gone from its files too. Exit status 66 when the agent has no such \
            episode (or no episodes).

            Examples:
              episodic delete --agent planner 2f6c1e0a-…
              episodic delete --agent planner --filter '{"metadata": {"status": "done"}}'
              episodic delete --agent planner --filter '{"created_before": "2026-01-01T00:00:00Z"}' --compact
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: "The agent that owns the episodes.")
    var agent: String

    @Argument(help: "The episode id (or give --filter).")
    var id: String?

    @Option(help: "Delete the episodes passing this filter (JSON).")
    var filter: String?

    @Flag(help: "Rewrite the store afterwards so that nothing of the deleted episodes stays in its files.")
    var compact = false

    func validate() throws {
        guard (id == nil) != (filter == nil) else { throw ValidationError("give either an episode id or --filter") }
    }

    func run() async throws {
        try await reportingFailures {
            let memory = try await store.open()
            if let id {
                guard try await memory.delete(agentID: agent, id: id) else { throw StoreError.episodeNotFound(id) }
                print("deleted \(id)")
            } else if let filter {
                let parsed = try FilterWire.filter(text: filter, context: "--filter")
                if try await !memory.agentExists(agent) { throw StoreError.unknownAgent(agent) }
                let n = try await memory.delete(agentID: agent, filter: parsed)
                print("deleted \(n) episode\(n == 1 ? "" : "s") of \(agent)")
            }
            if compact { try await memory.compact() }
            await memory.close()
        }
    }
}
