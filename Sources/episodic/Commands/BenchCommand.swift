import ArgumentParser

/// `episodic bench …`: benchmarks of the hot paths, each printing medians and, where a peer
/// system exists, the ratio against it measured in the same invocation.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark a hot path against its peer system (build with -c release).",
        discussion: """
        Example:
          swift run -c release episodic bench embed --threads 1
        """,
        subcommands: [BenchEmbedCommand.self, BenchSearchCommand.self, BenchRetrieveCommand.self, BenchServeCommand.self, BenchGemmCommand.self])
}
