import ArgumentParser
import CommandSupport
import EpisodicMemory
import Foundation

/// `episodic-bench cross-encoder`: what the optional cross-encoder stage adds to a retrieval —
/// scoring the top N episodes against a query — per N, thread count and precision.
struct BenchCrossEncoderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cross-encoder",
        abstract: "Latency of the cross-encoder stage: one query against its top N episodes.",
        discussion: """
            --model: a cross-encoder directory (default $EPISODIC_MODELS/ms-marco-MiniLM-L-6-v2). \\
            Offline, a random model of the same shape times the same: \\
            python scripts/fixtures/make_bench_cross_encoder.py DIR ~/.cache/episodic/models/all-MiniLM-L6-v2 \\
            (torch and transformers from PyPI), then --model DIR. Episodes and queries are the \\
            synthetic ones of `bench retrieve`.

            Example:
              swift run -c release episodic-bench cross-encoder --n 20,50 --threads 1,2
            """)

    @Option(help: "The cross-encoder directory.")
    var model: String?

    @Option(help: "Episodes scored per query, comma-separated.")
    var n = "20,50"

    @Option(help: "Threads, comma-separated.")
    var threads = "1,2"

    @Option(help: "Precisions, comma-separated (fp32, bf16, int8, auto).")
    var precision = "fp32,bf16"

    @Option(help: "Timed queries per configuration.")
    var queries = 30

    func run() async throws {
        try await reportingFailures {
            let directory = model.map { URL(fileURLWithPath: $0) } ?? ModelsFolder.default.appendingPathComponent(CrossEncoderModel.defaultName)
            guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("config.json").path) else {
                throw Failure(
                    message:
                        "no cross-encoder at \(directory.path): `episodic models fetch cross-encoder/ms-marco-MiniLM-L-6-v2` (with internet), or make a random one of its shape with scripts/fixtures/make_bench_cross_encoder.py and pass --model",
                    status: ExitStatus.noInput)
            }
            func list<T>(_ text: String, _ parse: (String) -> T?) throws -> [T] {
                try text.split(separator: ",").map {
                    guard let v = parse($0.trimmingCharacters(in: .whitespaces)) else {
                        throw Failure(message: "cannot read \($0) in \(text)", status: ExitStatus.dataError)
                    }
                    return v
                }
            }
            let sizes = try list(n) { Int($0).flatMap { $0 > 0 ? $0 : nil } }
            let threadCounts = try list(threads) { Int($0).flatMap { $0 > 0 ? $0 : nil } }
            let precisions = try list(precision, EmbeddingPrecision.init(rawValue:))
            let passages = SyntheticEpisodes.episodes(max(sizes.max() ?? 1, 1) * 4, seed: 5)
            let texts = SyntheticEpisodes.queries(queries, seed: 9)
            print("cross-encoder stage — \(directory.lastPathComponent), \(queries) queries; ms per query (all N pairs in one pass)")
            print(TextTable.row(["precision", "threads", "N", "p50 ms", "p95 ms", "ms per pair"], widths: [-10, 8, 5, 9, 9, 12]))
            for p in precisions {
                for t in threadCounts {
                    let encoder = try CrossEncoder(directory: directory, options: .init(threads: t, precision: p))
                    for size in sizes {
                        _ = try encoder.scores(query: texts[0], passages: Array(passages.prefix(size)))
                        var times: [Double] = []
                        for (i, q) in texts.enumerated() {
                            let start = (i * size) % max(1, passages.count - size)
                            let batch = Array(passages[start..<(start + size)])
                            times.append(try measureMilliseconds { _ = try encoder.scores(query: q, passages: batch) })
                        }
                        let p50 = TimingSummary.percentile(times, 0.5), p95 = TimingSummary.percentile(times, 0.95)
                        print(
                            TextTable.row(
                                [p.resolved.rawValue, "\(t)", "\(size)", String(format: "%.2f", p50), String(format: "%.2f", p95),
                                 String(format: "%.3f", p50 / Double(size))], widths: [-10, 8, 5, 9, 9, 12]))
                    }
                }
            }
        }
    }
}
