import ArgumentParser
import EpisodicMemory
import Foundation

/// `--db LOCATION`, shared by every command that opens a store; accepted before or after the
/// subcommand (`episodic --db m.sqlite stats` or `episodic stats --db m.sqlite`).
public struct StoreOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The store: a SQLite file or a postgres:// URL (default: $EPISODIC_DB or ./episodic.sqlite).",
            valueName: "location"))
    public var db: String?

    public init() {}

    /// The location given, or the default.
    public var location: String { db ?? StoreLocation.defaultText }

    /// Opens the store at ``location``. Without `create`, a missing store is an error (exit 66);
    /// with `readOnly`, nothing is written (commands that only read).
    public func open(
        create: Bool = false, readOnly: Bool = false,
        _ configure: (inout EpisodicMemory.Configuration) -> Void = { _ in }
    ) async throws -> EpisodicMemory {
        var configuration = EpisodicMemory.Configuration()
        configuration.createIfMissing = create
        configuration.readOnly = readOnly
        configure(&configuration)
        return try await EpisodicMemory.open(location, configuration: configuration)
    }
}
