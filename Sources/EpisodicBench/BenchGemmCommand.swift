import ArgumentParser
import CommandSupport
import EpisodicMemory
import Foundation

/// `episodic-bench gemm`: the linear-layer product on both engines at the shapes of a model.
struct BenchGemmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "Linear-layer matrix products: packed Swift kernel vs OpenBLAS cblas_sgemm, 1 thread.",
        discussion: """
            Shapes are those of all-MiniLM-L6-v2 (hidden 384, intermediate 1536, fused QKV 1152) for \
            each row count (tokens in a pass). Medians of interleaved repetitions.

            Example:
              swift run -c release episodic-bench gemm --rows 8,32,256,1024
            """)

    @Option(help: "Comma-separated row counts (tokens per pass).")
    var rows = "8,32,128,256,1024"

    @Option(help: "Hidden size.")
    var hidden = 384

    @Option(help: "Intermediate size.")
    var intermediate = 1536

    @Flag(help: "Rotate the weights through 64 MB of copies, as a forward pass sees them (evicted from cache).")
    var cold = false

    func run() async throws {
        try await reportingFailures {
            OpenBLASLinearLayer.setThreads(1)
            let counts = rows.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !counts.isEmpty, counts.allSatisfy({ $0 > 0 }) else {
                throw Failure(message: "--rows takes positive integers, e.g. 8,32,256", status: ExitStatus.dataError)
            }
            let widths = [-6, -7, -7, 12, 12, 12, 12, 8]
            print(TextTable.row(["M", "N", "K", "packed ms", "GFLOP/s", "openblas ms", "GFLOP/s", "ratio"], widths: widths))
            for m in counts {
                for (n, k) in [(3 * hidden, hidden), (hidden, hidden), (intermediate, hidden), (hidden, intermediate)] {
                    let f = KernelBenchmark.linear(m: m, n: n, k: k, repetitions: max(5, 2_000_000_000 / (m * n * k * 2)), cold: cold)
                    print(
                        TextTable.row(
                            [
                                "\(m)", "\(n)", "\(k)",
                                String(format: "%.4f", f.packedMs), String(format: "%.1f", f.packedGFLOPs),
                                String(format: "%.4f", f.openBLASMs), String(format: "%.1f", f.openBLASGFLOPs),
                                String(format: "%.3f", f.packedMs / f.openBLASMs),
                            ], widths: widths))
                }
            }
        }
    }
}
