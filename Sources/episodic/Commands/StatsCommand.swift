import ArgumentParser
import EpisodeStore
import Foundation

/// `episodic stats`: counts and facts about a store.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show episode, agent and vector counts, columns and schema version.",
        discussion: """
        Example:
          episodic --db memory.sqlite stats --json
        """)

    @OptionGroup var store: StoreOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        try await reportingFailures {
            let stats = try store.open().stats()
            if json {
                let columns = stats.columns.map { c -> [String: Any] in
                    ["name": c.column.name, "role": c.column.role.rawValue, "dimension": c.column.dimension,
                     "model_id": c.column.modelID, "model_sha256": c.column.modelSHA256, "vectors": c.vectors]
                }
                print(EpisodeJSON.string(["path": stats.path, "schema_version": stats.schemaVersion, "episodes": stats.episodes,
                                          "agents": stats.agents, "file_bytes": stats.fileBytes, "columns": columns], pretty: true))
                return
            }
            print("\(stats.path): schema \(stats.schemaVersion), \(stats.fileBytes / 1024) KiB")
            print("episodes \(stats.episodes), agents \(stats.agents)")
            for c in stats.columns {
                print("  \(c.column.name) (\(c.column.role.rawValue)): \(c.vectors) vectors × \(c.column.dimension), \(c.column.modelID)")
            }
        }
    }
}
