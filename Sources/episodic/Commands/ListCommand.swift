import ArgumentParser
import CommandSupport
import EpisodicMemory
import EpisodicWire
import Foundation

/// `episodic list`: an agent's episodes, newest first.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List an agent's episodes (passing a filter), newest first by creation or update time, as JSON lines.",
        discussion: """
            Examples:
              episodic list --agent planner --limit 20
              episodic list --agent planner --order updated_at --filter '{"created_after": "2026-11-24T00:00:00Z"}'
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: "The agent whose episodes are listed.")
    var agent: String

    @Option(help: "Episodes to print (0: all).")
    var limit = 50

    @Option(help: "created_at or updated_at.")
    var order = "created_at"

    @Option(help: "Only episodes passing this filter (JSON).")
    var filter: String?

    func run() async throws {
        try await reportingFailures {
            guard let order = EpisodeOrder(rawValue: order) else {
                throw Failure(message: "--order must be created_at or updated_at", status: ExitStatus.dataError)
            }
            let parsed = try filter.map { try FilterWire.filter(text: $0, context: "--filter") }
            let memory = try await store.open(readOnly: true)
            if try await !memory.agentExists(agent) { throw StoreError.unknownAgent(agent) }
            var printed = 0, position: PagePosition?
            repeat {
                let want = limit == 0 ? 500 : min(500, limit - printed)
                let page = try await memory.episodes(agentID: agent, limit: want, after: position, order: order, filter: parsed)
                for episode in page.episodes { print(EpisodeWire.json(episode)) }
                printed += page.episodes.count
                position = page.next
            } while position != nil && (limit == 0 || printed < limit)
            await memory.close()
        }
    }
}
