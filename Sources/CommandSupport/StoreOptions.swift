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

    @OptionGroup public var compute: PrecisionOptions

    public init() {}

    /// `--precision`, else `$EPISODIC_PRECISION`, else the library's default.
    public var effectivePrecision: EmbeddingPrecision { compute.effectivePrecision }

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
        configuration.precision = effectivePrecision
        configure(&configuration)
        return try await EpisodicMemory.open(location, configuration: configuration)
    }
}

/// `--precision`: the arithmetic of the models' linear layers. Part of ``StoreOptions`` (so that it
/// is accepted before or after the subcommand); commands that embed without a store declare this
/// group alone.
public struct PrecisionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The models' arithmetic: fp32, bf16, int8, or auto (default: $EPISODIC_PRECISION or the library's default).",
            valueName: "precision"))
    public var precision: EmbeddingPrecision?

    public init() {}

    /// `--precision`, else `$EPISODIC_PRECISION`, else the library's default.
    public var effectivePrecision: EmbeddingPrecision {
        precision ?? ProcessInfo.processInfo.environment["EPISODIC_PRECISION"].flatMap(EmbeddingPrecision.init(rawValue:))
            ?? EpisodicMemory.Configuration().precision
    }
}
