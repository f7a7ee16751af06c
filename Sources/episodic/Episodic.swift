import ArgumentParser
import Foundation
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
            DeleteCommand.self, SearchCommand.self, MigrateCommand.self, StatsCommand.self,
            EmbedCommand.self, BenchCommand.self,
        ]
    )

    @OptionGroup var store: StoreOptions
}
