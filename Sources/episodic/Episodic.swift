import ArgumentParser
import Foundation
import Logging
import TextEmbedding

/// `episodic`: the command-line tool of EpisodicMemory.
@main
struct Episodic: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "episodic",
        abstract: "Fast, local episodic memory for AI agents, with two-stage retrieval.",
        discussion: """
        Models are read from $EPISODIC_MODELS (default ~/.cache/episodic/models), installed by \
        scripts/setup.sh.

        Examples:
          episodic quickstart
          echo '{"id": 1, "text": "hello"}' | episodic embed
          episodic bench embed --threads 1
        """,
        subcommands: [
            QuickstartCommand.self, InitCommand.self, AddCommand.self, ImportCommand.self, GetCommand.self,
            DeleteCommand.self, SearchCommand.self, RetrieveCommand.self, BackfillCommand.self, MigrateCommand.self, StatsCommand.self,
            ServeCommand.self, ModelsCommand.self, EvalCommand.self, EmbedCommand.self, BenchCommand.self,
        ]
    )

    @OptionGroup var store: StoreOptions

    /// Logs go to standard error (standard output carries data); the level comes from
    /// `$EPISODIC_LOG_LEVEL` (trace, debug, info, notice, warning, error, critical), default warning.
    static func bootstrapLogging() {
        let level = ProcessInfo.processInfo.environment["EPISODIC_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    static func main() async {
        bootstrapLogging()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
