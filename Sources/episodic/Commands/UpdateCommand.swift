import ArgumentParser
import CommandSupport
import EpisodicMemory
import EpisodicWire
import Foundation

/// `episodic update ID`: change an episode's text or metadata.
struct UpdateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Change an episode's content, summary or metadata; the vectors of changed text are recomputed.",
        discussion: """
            --metadata is merged into the stored metadata (a key given null is removed) unless \
            --replace-metadata is set. The fast vector of new text is recomputed in the same \
            transaction; the quality vector too with --quality sync (the default), or removed and \
            left for backfill or the first rerank with --quality defer. Exit status 66 when the \
            agent has no such episode.

            Examples:
              episodic update --agent planner 2f6c1e0a-… --content "flight to Lisbon moved to Friday"
              episodic update --agent planner 2f6c1e0a-… --metadata '{"status": "done", "draft": null}'
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: "The agent that owns the episode.")
    var agent: String

    @Argument(help: "The episode id.")
    var id: String

    @Option(help: "New content.")
    var content: String?

    @Option(help: "New summary.")
    var summary: String?

    @Flag(help: "Remove the summary (the content is then what gets embedded).")
    var clearSummary = false

    @Option(help: "A JSON object merged into the metadata (null removes a key).")
    var metadata: String?

    @Flag(help: "Replace the metadata with --metadata instead of merging.")
    var replaceMetadata = false

    @Option(help: "Quality vector of new text: sync (now, same transaction) or defer (left for backfill or the first rerank).")
    var quality = QualityOption.sync

    @Flag(help: "Print the stored episode as JSON.")
    var json = false

    func validate() throws {
        try quality.requireForeground()
        if summary != nil && clearSummary { throw ValidationError("give --summary or --clear-summary, not both") }
        if content == nil && summary == nil && !clearSummary && metadata == nil {
            throw ValidationError("nothing to change: give --content, --summary, --clear-summary or --metadata")
        }
    }

    func run() async throws {
        try await reportingFailures {
            var patch = EpisodePatch(content: content, metadataMode: replaceMetadata ? .replace : .merge)
            if let summary { patch.summary = .some(summary) } else if clearSummary { patch.summary = .some(nil) }
            if let metadata {
                guard let object = try? JSONParser().parse(metadata).objectValue else {
                    throw Failure(message: "--metadata must be a JSON object, e.g. '{\"status\": \"done\"}'", status: ExitStatus.dataError)
                }
                patch.metadata = object
            }
            let memory = try await store.open()
            let updated = try await memory.update(agentID: agent, id: id, patch: patch, quality: quality.mode)
            await memory.close()
            print(json ? EpisodeWire.json(updated) : "updated \(updated.id)")
        }
    }
}
