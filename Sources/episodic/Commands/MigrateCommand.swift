import ArgumentParser
import EpisodeStore

/// `episodic migrate`: upgrades (or downgrades) a store's schema.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Migrate the store's schema to the latest version, or to a named earlier one.",
        discussion: """
        Versions, oldest first: \(StoreSchema.versions.joined(separator: ", ")).
        A store written by a newer episodic is refused and left unchanged.

        Examples:
          episodic migrate
          episodic migrate --to v1_initial_schema
        """)

    @OptionGroup var store: StoreOptions

    @Option(help: "The version to end at (default: the latest).")
    var to: String?

    func run() async throws {
        try await reportingFailures {
            let before = try StoreSchema.appliedMigrations(path: store.path)
            let after = try StoreSchema.migrate(path: store.path, to: to)
            print(before == after ? "already at \(after.last ?? "no schema")" : "migrated \(before.last ?? "empty") → \(after.last ?? "empty")")
            for version in StoreSchema.versions {
                print("  [\(after.contains(version) ? "x" : " ")] \(version)")
            }
        }
    }
}
