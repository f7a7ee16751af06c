import ArgumentParser
import CommandSupport
import EpisodicMemory

/// `episodic migrate`: upgrades (or downgrades) a store's schema.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Migrate the store's schema to the latest version, or to a named earlier one.",
        discussion: """
            Versions, oldest first: \(SQLiteSchema.versions.joined(separator: ", ")).
            A store written by a newer episodic is refused and left unchanged (exit status 69).

            Examples:
              episodic migrate
              episodic migrate --to v3_add_lexical_index
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: "The version to end at (default: the latest).")
    var to: String?

    func run() async throws {
        try await reportingFailures {
            let before = try await EpisodicMemory.appliedMigrations(store.location)
            let after = try await EpisodicMemory.migrate(store.location, to: to)
            print(
                before == after
                    ? "already at \(after.last ?? "no schema")" : "migrated \(before.last ?? "empty") → \(after.last ?? "empty")")
            for version in try EpisodicMemory.migrationNames(store.location) {
                print("  [\(after.contains(version) ? "x" : " ")] \(version)")
            }
        }
    }
}
