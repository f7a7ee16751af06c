import ArgumentParser
import CommandSupport
import EpisodicMemory
import Foundation

/// `episodic-bench embed`: text-to-vector latency and throughput on the shared benchmark texts,
/// side by side with ONNX Runtime (`peer_embed.py`).
struct BenchEmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embedding latency (batch 1), 200-word latency and batch-32 throughput, vs ONNX Runtime.",
        discussion: """
            Texts: the project's copy of ../shared/peers/bench_texts.json (5 short texts, one of 200 \
            words, 256 for throughput). When the peer venv exists (../shared/peers/setup.sh), \
            peer_embed.py runs in the same invocation and ratios ours / ONNX Runtime are printed \
            (below 1 means we are faster for times, above 1 for throughput).

            Example:
              swift run -c release episodic-bench embed --threads 1 --json
            """)

    @Option(help: "Model directory or name under $EPISODIC_MODELS (default: all-MiniLM-L6-v2, the peer's model).")
    var model: String?

    @Option(help: "Threads for matrix products and attention (the peer gets the same).")
    var threads = 1

    @Option(help: "Rounds over the short texts (the peer's default is 30).")
    var rounds = 30

    @Option(help: "Peers folder (default: $EPISODIC_PEERS or ../shared/peers).")
    var peers: String?

    @Flag(help: "Skip the peer run.")
    var noPeer = false

    @Flag(help: "Print one JSON object with peer_embed.py's keys plus peer and ratio_short_median.")
    var json = false

    func run() async throws {
        try await reportingFailures {
            let texts = try BenchmarkTexts.load()
            let embedder = try SentenceEmbedder(
                directory: model.map { ModelsFolder.directory(of: $0) } ?? ModelsFolder.directory(of: ModelCatalog.defaultFast.id),
                options: .init(threads: threads))
            var report = Self.measure(embedder, texts: texts, rounds: rounds, threads: threads)

            var peerNote: String?
            let runner = PeerRunner(peersOption: peers)
            if !noPeer {
                if let reason = runner.unavailableReason(script: "peer_embed.py") {
                    peerNote = "peer not run: \(reason)"
                } else {
                    do {
                        let objects = try runner.run(
                            script: "peer_embed.py",
                            arguments: ["--threads", "\(threads)", "--rounds", "\(rounds)"])
                        if let object = objects.last { report.attachPeer(object) }
                    } catch {
                        peerNote = "peer failed: \(error)"
                    }
                }
            }
            if json {
                print(try report.jsonString())
            } else {
                print(report.table(modelName: embedder.name))
            }
            if let peerNote { printError(peerNote) }
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
            engine: "episodic (Swift)", threads: threads,
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

/// Our figures, under peer_embed.py's keys, with the peer's object and the ratios.
struct EmbedReport {
    var engine: String
    var threads: Int
    var short: TimingSummary
    var long200: TimingSummary
    var batch32_texts_per_s: Double
    var peer: [String: Any]?

    var peerShort: TimingSummary? { summary(peer?["short"]) }
    var peerLong: TimingSummary? { summary(peer?["long200"]) }
    var peerBatch: Double? { peer?["batch32_texts_per_s"] as? Double }
    var ratioShortMedian: Double? { peerShort.map { short.median_ms / $0.median_ms } }

    mutating func attachPeer(_ object: [String: Any]) { peer = object }

    private func summary(_ any: Any?) -> TimingSummary? {
        guard let object = any as? [String: Any],
            let data = try? JSONSerialization.data(withJSONObject: object)
        else { return nil }
        return try? JSONDecoder().decode(TimingSummary.self, from: data)
    }

    func jsonString() throws -> String {
        func encode<T: Encodable>(_ value: T) throws -> Any {
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(value))
        }
        var object: [String: Any] = [
            "engine": engine, "threads": threads,
            "short": try encode(short), "long200": try encode(long200),
            "batch32_texts_per_s": batch32_texts_per_s,
        ]
        if let peer { object["peer"] = peer }
        if let ratio = ratioShortMedian { object["ratio_short_median"] = TimingSummary.round3(ratio) }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    func table(modelName: String) -> String {
        func ratio(_ ours: Double, _ theirs: Double?) -> String {
            guard let theirs, theirs > 0 else { return "—" }
            return String(format: "%.3f", ours / theirs)
        }
        func ms(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "—" }
        var lines = [
            "embedding benchmark — \(modelName), \(threads) thread(s); ratio = ours / ONNX Runtime",
            TextTable.row(["figure", "episodic", "onnxruntime", "ratio"], widths: [-34, 12, 14, 8]),
        ]
        func row(_ name: String, _ ours: Double, _ theirs: Double?) {
            lines.append(TextTable.row([name, ms(ours), ms(theirs), ratio(ours, theirs)], widths: [-34, 12, 14, 8]))
        }
        row("short text, batch 1: median ms", short.median_ms, peerShort?.median_ms)
        row("short text, batch 1: p95 ms", short.p95_ms, peerShort?.p95_ms)
        row("200-word text: median ms", long200.median_ms, peerLong?.median_ms)
        row("batch 32: texts/s", batch32_texts_per_s, peerBatch)
        return lines.joined(separator: "\n")
    }
}
