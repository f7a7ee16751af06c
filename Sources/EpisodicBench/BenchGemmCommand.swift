import ArgumentParser
import CommandSupport
import EpisodicMemory
import Foundation

/// `episodic-bench gemm`: the linear-layer product on both engines at the shapes of a model.
struct BenchGemmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "Linear-layer matrix products: our kernel in a precision vs OpenBLAS cblas_sgemm (float32), 1 thread.",
        discussion: """
            Shapes are those of all-MiniLM-L6-v2 (hidden 384, intermediate 1536, fused QKV 1152) for \
            each row count (tokens in a pass). Medians of interleaved repetitions.

            Example:
              swift run -c release episodic-bench gemm --rows 8,32,256,1024
              swift run -c release episodic-bench gemm --rows 12,120 --hidden 768 --intermediate 3072 --precision bf16 --cold
            """)

    @Option(help: "Comma-separated row counts (tokens per pass).")
    var rows = "8,32,128,256,1024"

    @Option(help: "Hidden size.")
    var hidden = 384

    @Option(help: "Intermediate size.")
    var intermediate = 1536

    @Flag(help: "Rotate the weights through 64 MB of copies, as a forward pass sees them (evicted from cache).")
    var cold = false

    @Option(help: "Our kernel's arithmetic (fp32, bf16, int8, auto); OpenBLAS is always float32.")
    var precision = EmbeddingPrecision.fp32

    func run() async throws {
        try await reportingFailures {
            OpenBLASLinearLayer.setThreads(1)
            let counts = rows.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !counts.isEmpty, counts.allSatisfy({ $0 > 0 }) else {
                throw Failure(message: "--rows takes positive integers, e.g. 8,32,256", status: ExitStatus.dataError)
            }
            let widths = [-6, -7, -7, 12, 12, 12, 12, 8]
            let ours = "ours \(precision.resolved.rawValue) ms"
            print(TextTable.row(["M", "N", "K", ours, "GFLOP/s", "openblas ms", "GFLOP/s", "ratio"], widths: widths))
            for m in counts {
                for (n, k) in [(3 * hidden, hidden), (hidden, hidden), (intermediate, hidden), (hidden, intermediate)] {
                    let f = KernelBenchmark.linear(
                        m: m, n: n, k: k, repetitions: max(5, 2_000_000_000 / (m * n * k * 2)), cold: cold, precision: precision)
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
