import ArgumentParser
import CommandSupport
import EpisodicMemory
import EpisodicWire
import Foundation

/// `episodic add`: stores one episode with its vectors.
struct AddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add an episode; its fast (and by default quality) vectors are computed and stored in the same transaction.",
        discussion: """
            The embedded text is the summary when given, else the content.

            Example:
              episodic add --agent planner --text "Booked the flight to Lisbon for Friday" --metadata '{"tool": "flights"}'
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: "The agent that owns the episode.")
    var agent: String

    @Option(help: "The episode's content.")
    var text: String

    @Option(help: "A summary (embedded instead of the content when given).")
    var summary: String?

    @Option(help: "A JSON object of metadata.")
    var metadata: String?

    @Option(help: "The episode id (default: a new UUID); unique within the agent.")
    var id: String?

    @Option(help: "When it happened: RFC 3339 (default: now).")
    var createdAt: String?

    @Option(help: "Quality vector: sync (now, same transaction) or defer (left for backfill or the first rerank).")
    var quality = QualityOption.sync

    @Flag(help: "Print the stored episode as JSON.")
    var json = false

    @Flag(help: "Return the agent's episode with the same normalised content instead of adding another.")
    var dedup = false

    func validate() throws { try quality.requireForeground() }

    func run() async throws {
        try await reportingFailures {
            var episode = Episode(agentID: agent, content: text, summary: summary)
            if let id { episode.id = id }
            if let metadata {
                guard let object = try? JSONParser().parse(metadata).objectValue else {
                    throw Failure(message: "--metadata must be a JSON object, e.g. '{\"tool\": \"search\"}'", status: ExitStatus.dataError)
                }
                episode.metadata = object
            }
            if let createdAt {
                do { episode.createdAt = try EpisodeTime.parse(rfc3339: createdAt) } catch {
                    throw Failure(message: "--created-at \(createdAt) is \(error)", status: ExitStatus.dataError)
                }
            }
            let memory = try await store.open()
            // A given id makes the write idempotent: rerunning the same command adds nothing.
            let outcome = try await memory.insert(
                [NewEpisode(episode, idempotent: id != nil, deduplicate: dedup)], quality: quality.mode)[0]
            await memory.close()
            if !outcome.created { printError("already stored: \(outcome.episode.id)") }
            print(json ? EpisodeWire.json(outcome.episode) : outcome.episode.id)
        }
    }
}
