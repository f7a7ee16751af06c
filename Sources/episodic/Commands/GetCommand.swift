import ArgumentParser
import CommandSupport
import EpisodicMemory
import EpisodicWire
import Foundation

/// `episodic get ID`: prints one episode.
struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Print an episode as JSON.",
        discussion: """
            Exit status 66 when the agent has no such episode.

            Example:
              episodic get --agent planner 2f6c1e0a-… --vectors
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: "The agent that owns the episode.")
    var agent: String

    @Argument(help: "The episode id.")
    var id: String

    @Flag(help: "Include the stored vectors.")
    var vectors = false

    func run() async throws {
        try await reportingFailures {
            let memory = try await store.open(readOnly: true)
            let episode = try await memory.episode(agentID: agent, id: id)
            let stored = vectors ? try await memory.vectors(agentID: agent, id: id) : nil
            print(EpisodeWire.json(episode, vectors: stored))
        }
    }
}
