import ArgumentParser
import CommandSupport
import Foundation

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
              episodic --db memory.sqlite serve
              echo '{"id": 1, "text": "hello"}' | episodic embed

            Benchmarks are a separate tool: swift run -c release episodic-bench --help
            """,
        subcommands: [
            QuickstartCommand.self, InitCommand.self, AddCommand.self, ImportCommand.self, ExportCommand.self, GetCommand.self,
            ListCommand.self, UpdateCommand.self, DeleteCommand.self, ForgetCommand.self, CompactCommand.self, SearchCommand.self,
            RetrieveCommand.self, BackfillCommand.self, ReembedCommand.self, MigrateCommand.self,
            StatsCommand.self, ServeCommand.self, KeysCommand.self, MCPCommand.self, ModelsCommand.self, EvalCommand.self,
            EmbedCommand.self,
        ]
    )

    @OptionGroup var store: StoreOptions

    static func main() async { await runAsTool() }
}
