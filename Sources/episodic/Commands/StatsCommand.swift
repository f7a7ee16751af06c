import ArgumentParser
import CommandSupport
import EpisodicMemory
import Foundation

/// `episodic stats`: counts and facts about a store.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show episode, agent and vector counts, columns and schema version.",
        discussion: """
            Reads only: works on a store the process may not write.

            Example:
              episodic --db memory.sqlite stats --json
            """)

    @OptionGroup var store: StoreOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        try await reportingFailures {
            let stats = try await store.open(readOnly: true).stats()
            if json {
                let columns: [JSONValue] = stats.columns.map { c in
                    .object([
                        "name": .string(c.column.name), "role": .string(c.column.role.rawValue),
                        "dimension": .number(JSONNumber(c.column.dimension)), "model_id": .string(c.column.modelID),
                        "model_sha256": .string(c.column.modelSHA256), "vectors": .number(JSONNumber(c.vectors)),
                    ])
                }
                print(
                    JSONValue.object([
                        "location": .string(stats.location), "backend": .string(stats.backend),
                        "schema_version": .string(stats.schemaVersion),
                        "episodes": .number(JSONNumber(stats.episodes)), "agents": .number(JSONNumber(stats.agents)),
                        "bytes": .number(JSONNumber(Int(stats.bytes))), "columns": .array(columns),
                    ]).jsonText)
                return
            }
            print("\(stats.location) (\(stats.backend)): schema \(stats.schemaVersion), \(stats.bytes / 1024) KiB")
            print("episodes \(stats.episodes), agents \(stats.agents)")
            for c in stats.columns {
                print("  \(c.column.name) (\(c.column.role.rawValue)): \(c.vectors) vectors × \(c.column.dimension), \(c.column.modelID)")
            }
        }
    }
}
