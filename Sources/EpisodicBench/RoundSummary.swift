import CommandSupport
import Foundation

/// The figures of `bench serve --rounds`: each configuration's runs at each number of clients,
/// summarised by medians, and its requests/s over the first configuration's, round by round (the
/// two ran one after the other, so the host's slow and fast minutes mostly cancel).
struct RoundSummary {
    let configurations: [String]
    /// [clients: [configuration index: [(round, req/s, p99 ms)]]]
    private var runs: [Int: [Int: [(round: Int, throughput: Double, p99: Double)]]] = [:]

    init(configurations: [String]) { self.configurations = configurations }

    mutating func record(clients: Int, round: Int, configuration: Int, throughput: Double, p99: Double) {
        runs[clients, default: [:]][configuration, default: []].append((round, throughput, p99))
    }

    /// The middle value (the mean of the middle two for an even count).
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Per round, configuration `index`'s requests/s over the first configuration's.
    func ratios(clients: Int, configuration index: Int) -> [Double] {
        guard let first = runs[clients]?[0], let these = runs[clients]?[index] else { return [] }
        return these.compactMap { run in
            guard let base = first.first(where: { $0.round == run.round }), base.throughput > 0 else { return nil }
            return run.throughput / base.throughput
        }
    }

    func report(_ clientCounts: [Int]) -> [[String: Any]] {
        clientCounts.flatMap { clients in
            configurations.indices.map { index -> [String: Any] in
                let these = runs[clients]?[index] ?? []
                var entry: [String: Any] = [
                    "clients": clients, "server": configurations[index], "runs": these.count,
                    "throughput_rps": these.map { TimingSummary.round3($0.throughput) },
                    "median_throughput_rps": TimingSummary.round3(Self.median(these.map(\.throughput))),
                    "median_p99_ms": TimingSummary.round3(Self.median(these.map(\.p99))),
                ]
                if index > 0 {
                    let ratios = ratios(clients: clients, configuration: index)
                    entry["ratio_to"] = configurations[0]
                    entry["ratios"] = ratios.map(TimingSummary.round3)
                    entry["median_ratio"] = TimingSummary.round3(Self.median(ratios))
                }
                return entry
            }
        }
    }

    func text(_ clientCounts: [Int]) -> String {
        var lines = ["summary over the rounds (medians; ratios to \(configurations[0]) in the same round):"]
        for clients in clientCounts {
            for index in configurations.indices {
                let these = runs[clients]?[index] ?? []
                var line = String(
                    format: "  %@ at %d clients: %.1f req/s (runs: %@), p99 %.1f ms", configurations[index], clients,
                    Self.median(these.map(\.throughput)), these.map { String(format: "%.1f", $0.throughput) }.joined(separator: ", "),
                    Self.median(these.map(\.p99)))
                if index > 0 {
                    let ratios = ratios(clients: clients, configuration: index)
                    line += String(
                        format: "; ×%@ per round, median ×%.2f", ratios.map { String(format: "%.2f", $0) }.joined(separator: ", "),
                        Self.median(ratios))
                }
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n")
    }
}
