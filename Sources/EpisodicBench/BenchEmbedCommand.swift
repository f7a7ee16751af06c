import ArgumentParser
import CommandSupport
import EpisodicMemory
import Foundation

/// `episodic-bench embed`: text-to-vector latency and throughput on the shared benchmark texts in
/// each precision, side by side with ONNX Runtime in float32 and with its own int8 model
/// (`peer_embed.py [--quantized]`).
struct BenchEmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embedding latency (batch 1), 200-word latency and batch-32 throughput per precision, vs ONNX Runtime fp32 and int8.",
        discussion: """
            Texts: the project's copy of ../shared/peers/bench_texts.json (5 short texts, one of 200 \
            words, 256 for throughput). When the peer venv exists (../shared/peers/setup.sh), \
            peer_embed.py runs in the same invocation, once in float32 and once with ONNX Runtime's \
            own int8 model (--quantized), and every precision of ours is printed as a ratio to both \
            (below 1 means we are faster for times, above 1 for throughput). The int8 kernel and \
            bf16 hardware in use are printed; EPISODIC_CPU_FEATURES=avx2 forces the AVX2 path.

            Example:
              swift run -c release episodic-bench embed --threads 1 --precision fp32,bf16,int8
            """)

    @Option(help: "Model directory or name under $EPISODIC_MODELS (default: all-MiniLM-L6-v2, the peer's model).")
    var model: String?

    @Option(help: "Threads for matrix products and attention (the peer gets the same).")
    var threads = 1

    @Option(help: "Rounds over the short texts (the peer's default is 30).")
    var rounds = 30

    @Option(help: "Our precisions to measure, comma-separated (fp32, bf16, int8, auto).")
    var precision = "fp32,bf16,int8"

    @Option(help: "Peers folder (default: $EPISODIC_PEERS or ../shared/peers).")
    var peers: String?

    @Flag(help: "Skip the peer runs.")
    var noPeer = false

    @Flag(help: "Print one JSON object: ours per precision, the peers, and the ratios.")
    var json = false

    func run() async throws {
        try await reportingFailures {
            let texts = try BenchmarkTexts.load()
            let precisions = try precision.split(separator: ",").map { name -> EmbeddingPrecision in
                guard let p = EmbeddingPrecision(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                    throw Failure(message: "unknown precision \(name); use fp32, bf16, int8 or auto", status: ExitStatus.dataError)
                }
                return p
            }
            let directory = model.map { ModelsFolder.directory(of: $0) } ?? ModelsFolder.directory(of: ModelCatalog.defaultFast.id)
            var ours: [(String, EmbedReport)] = []
            var name = ""
            for p in precisions {
                let embedder = try SentenceEmbedder(directory: directory, options: .init(threads: threads, precision: p))
                name = embedder.name
                let label = p == .auto ? "auto=\(embedder.precision.rawValue)" : p.rawValue
                ours.append((label, Self.measure(embedder, texts: texts, rounds: rounds, threads: threads)))
            }

            var peerReports: [(String, [String: Any])] = []
            var notes: [String] = []
            let runner = PeerRunner(peersOption: peers)
            if !noPeer {
                if let reason = runner.unavailableReason(script: "peer_embed.py") {
                    notes.append("peer not run: \(reason)")
                } else {
                    for (label, extra) in [("ort fp32", [String]()), ("ort int8", ["--quantized"])] {
                        do {
                            let objects = try runner.run(
                                script: "peer_embed.py", arguments: ["--threads", "\(threads)", "--rounds", "\(rounds)"] + extra)
                            if let object = objects.last { peerReports.append((label, object)) }
                        } catch {
                            notes.append("peer \(label) failed: \(error)")
                        }
                    }
                }
            }
            let comparison = EmbedComparison(
                model: name, threads: threads, ours: ours, peers: peerReports,
                kernels: "int8 kernel \(Int8Kernel.selected.rawValue), bf16 kernel \(BFloat16Kernel.selected.rawValue)")
            print(json ? try comparison.jsonString() : comparison.table())
            for note in notes { printError(note) }
        }
    }

    /// The same protocol as peer_embed.py: warm up, then time each short text at batch 1 for
    /// `rounds` rounds, the 200-word text 20 times, and the 256 texts at batch 32 five times.
    static func measure(_ embedder: SentenceEmbedder, texts: BenchmarkTexts, rounds: Int, threads: Int) -> EmbedReport {
        func embed(_ batch: [String]) { _ = try? embedder.embed(batch) }
        for text in texts.short + [texts.long200] { for _ in 0..<3 { embed([text]) } }
        embed(texts.batch)

        var short: [Double] = []
        for _ in 0..<rounds { for text in texts.short { short.append(measureMilliseconds { embed([text]) }) } }
        let long = (0..<20).map { _ in measureMilliseconds { embed([texts.long200]) } }
        let batch = (0..<5).map { _ in
            measureMilliseconds {
                var start = 0
                while start < texts.batch.count {
                    embed(Array(texts.batch[start..<min(texts.batch.count, start + 32)]))
                    start += 32
                }
            }
        }
        let perSecond = Double(texts.batch.count) / (TimingSummary.median(batch.sorted()) / 1000)
        return EmbedReport(
            short: TimingSummary(milliseconds: short), long200: TimingSummary(milliseconds: long),
            batch32_texts_per_s: (perSecond * 10).rounded() / 10)
    }
}

/// The texts of `../shared/peers/bench_texts.json`, shipped with the tool.
struct BenchmarkTexts: Decodable {
    var short: [String]
    var long200: String
    var batch: [String]

    static func load() throws -> BenchmarkTexts {
        guard let url = Bundle.module.url(forResource: "bench_texts", withExtension: "json") else {
            throw Failure(
                message: "bench_texts.json is missing from the tool's resources; rebuild the package",
                status: ExitStatus.noInput)
        }
        return try JSONDecoder().decode(BenchmarkTexts.self, from: Data(contentsOf: url))
    }
}

/// One engine's figures, under peer_embed.py's keys.
struct EmbedReport: Encodable {
    var short: TimingSummary
    var long200: TimingSummary
    var batch32_texts_per_s: Double

    init(short: TimingSummary, long200: TimingSummary, batch32_texts_per_s: Double) {
        self.short = short
        self.long200 = long200
        self.batch32_texts_per_s = batch32_texts_per_s
    }

    /// peer_embed.py's object.
    init?(peer object: [String: Any]) {
        func summary(_ any: Any?) -> TimingSummary? {
            guard let object = any as? [String: Any], let data = try? JSONSerialization.data(withJSONObject: object) else { return nil }
            return try? JSONDecoder().decode(TimingSummary.self, from: data)
        }
        guard let short = summary(object["short"]), let long = summary(object["long200"]),
            let batch = (object["batch32_texts_per_s"] as? NSNumber)?.doubleValue
        else { return nil }
        self.init(short: short, long200: long, batch32_texts_per_s: batch)
    }
}

/// Ours in each precision beside each peer engine, with the ratios ours / theirs.
struct EmbedComparison {
    var model: String
    var threads: Int
    var ours: [(String, EmbedReport)]
    var peers: [(String, [String: Any])]
    var kernels: String

    var peerReports: [(String, EmbedReport)] { peers.compactMap { name, object in EmbedReport(peer: object).map { (name, $0) } } }

    func jsonString() throws -> String {
        func encode<T: Encodable>(_ value: T) throws -> Any { try JSONSerialization.jsonObject(with: JSONEncoder().encode(value)) }
        var ratios: [String: Any] = [:]
        for (label, report) in ours {
            for (peer, theirs) in peerReports {
                ratios["\(label) / \(peer)"] = [
                    "short_median": TimingSummary.round3(report.short.median_ms / theirs.short.median_ms),
                    "long200_median": TimingSummary.round3(report.long200.median_ms / theirs.long200.median_ms),
                    "batch32_throughput": TimingSummary.round3(report.batch32_texts_per_s / theirs.batch32_texts_per_s),
                ]
            }
        }
        let object: [String: Any] = [
            "model": model, "threads": threads, "kernels": kernels,
            "ours": Dictionary(uniqueKeysWithValues: try ours.map { ($0.0, try encode($0.1)) }),
            "peers": Dictionary(uniqueKeysWithValues: peers.map { ($0.0, $0.1 as Any) }), "ratios": ratios,
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    func table() -> String {
        let theirs = peerReports
        let columns = ours.map { "ours \($0.0)" } + theirs.map(\.0)
        var widths = [-30] + columns.map { _ in 11 }
        var header = ["figure"] + columns
        for (label, _) in ours { for (peer, _) in theirs { header.append("\(label)/\(peer.replacingOccurrences(of: "ort ", with: ""))"); widths.append(11) } }
        var lines = [
            "embedding benchmark — \(model), \(threads) thread(s); \(kernels); ratio = ours / ONNX Runtime",
            TextTable.row(header, widths: widths),
        ]
        func row(_ name: String, _ value: (EmbedReport) -> Double) {
            var cells = [name] + (ours.map(\.1) + theirs.map(\.1)).map { String(format: "%.3f", value($0)) }
            for (_, mine) in ours { for (_, other) in theirs { cells.append(String(format: "%.3f", value(mine) / value(other))) } }
            lines.append(TextTable.row(cells, widths: widths))
        }
        row("short text, batch 1: median ms") { $0.short.median_ms }
        row("short text, batch 1: p95 ms") { $0.short.p95_ms }
        row("200-word text: median ms") { $0.long200.median_ms }
        row("batch 32: texts/s") { $0.batch32_texts_per_s }
        for (peer, object) in peers {
            if let cosine = object["cosine_to_fp32"] as? [String: Any] {
                lines.append("\(peer): cosine to fp32 mean \(cosine["mean"] ?? "?"), min \(cosine["min"] ?? "?") (peer_embed.py)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
