import ArgumentParser
import EpisodeStore
import Foundation
import HybridRetrieval
import TextEmbedding

/// `episodic add`: stores one episode with its fast vector.
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

    @Option(help: "The episode id (default: a new UUID).")
    var id: String?

    @Option(help: "Quality vector: sync (now, same transaction) or defer (left for backfill or the first rerank).")
    var quality = QualityOption.sync

    @Flag(help: "Print the stored episode as JSON.")
    var json = false

    func validate() throws { try quality.requireForeground() }

    func run() async throws {
        try await reportingFailures {
            let store = try store.open()
            var episode = Episode(agentID: agent, content: text, summary: summary)
            if let id { episode.id = id }
            if let metadata {
                guard let value = (try? JSONSerialization.jsonObject(with: Data(metadata.utf8))).flatMap(JSONValue.init(any:)),
                      case .object(let fields) = value else {
                    throw Failure(message: "--metadata must be a JSON object, e.g. '{\"tool\": \"search\"}'", status: ExitStatus.dataError)
                }
                episode.metadata = fields
            }
            let stored: Episode
            if store.column(role: .fast) != nil {
                stored = try MemoryFactory.service(store, qualityMode: quality.mode).add(episode)
            } else {
                stored = try store.add(episode)
            }
            print(json ? EpisodeJSON.string(EpisodeJSON.object(stored)) : stored.id)
        }
    }
}
