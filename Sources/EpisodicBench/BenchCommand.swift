import ArgumentParser
import CommandSupport
import Foundation

/// `episodic-bench`: benchmarks of the hot paths, each printing medians and, where a peer system
/// exists, the ratio against it measured in the same invocation. Not part of the product.
@main
struct EpisodicBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "episodic-bench",
        abstract: "Benchmark a hot path of EpisodicMemory against its peer system (build with -c release).",
        discussion: """
            Peers: ../shared/peers (or --peers DIR / $EPISODIC_PEERS), run from their venv \
            (../shared/peers/setup.sh, or $EPISODIC_PEERS_VENV).

            Examples:
              swift run -c release episodic-bench embed --threads 1
              swift run -c release episodic-bench search --n 10000,100000 --agents 1,100
            """,
        subcommands: [
            BenchEmbedCommand.self, BenchSearchCommand.self, BenchRetrieveCommand.self, BenchServeCommand.self,
            BenchGemmCommand.self, BenchLexicalCommand.self, BenchCrossEncoderCommand.self,
        ])

    static func main() async { await runAsTool() }
}
