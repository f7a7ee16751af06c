import ArgumentParser
import EpisodeStore
import Foundation

/// `--db PATH`, shared by every command that opens a store; accepted before or after the
/// subcommand (`episodic --db m.sqlite stats` or `episodic stats --db m.sqlite`).
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The store's SQLite file (default: $EPISODIC_DB or ./episodic.sqlite).", valueName: "path"))
    var db: String?

    var path: String { db ?? ProcessInfo.processInfo.environment["EPISODIC_DB"] ?? "episodic.sqlite" }

    /// Opens the existing store (never creates one).
    func open() throws -> SQLiteEpisodeStore {
        try SQLiteEpisodeStore(path: path, configuration: .init())
    }
}
