import ArgumentParser
import CommandSupport
import EpisodicMemory
import Evaluation
import Foundation

/// `episodic eval`: retrieval quality and latency on a BEIR-layout dataset.
struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate retrieval on a BEIR dataset: Recall@5/10/50, nDCG@10, MRR@10, stage latencies.",
        discussion: """
            The corpus is ingested (each document an episode of its conversation_id's agent, with \
            fast and quality vectors) into a store kept under --work-dir, reused by later runs. Each \
            query is searched within its agent. Metrics follow trec_eval; means over queries with \
            relevance judgments. baselines.json in the dataset folder, when present, is printed beside.

            Modes: baseline (fast vectors), lexical (BM25), coarse (dense + BM25 fused), quality \
            (quality vectors), hybrid (the full pipeline), all.

            Example:
              swift run -c release episodic eval ../shared/eval/semanlink_arxiv_tags --mode all --threads 2
            """)

    @Argument(help: "The dataset folder (corpus.jsonl, queries.jsonl, qrels.tsv).")
    var dataset: String

    @Option(help: "baseline, lexical, coarse, quality, hybrid or all.")
    var mode = "all"

    @Option(help: "Threads for embedding.")
    var threads = 2

    @Option(help: "Where ingested stores are kept (default ~/.cache/episodic/eval).")
    var workDir: String?

    @Option(help: "Ingest into this store instead (a SQLite path or a postgres:// URL, e.g. with ?schema=eval_realtalk).")
    var db: String?

    @Option(help: "Fast model (catalog name).")
    var fastModel = ModelCatalog.defaultFast.id

    @Option(help: "Quality model (catalog name).")
    var qualityModel = ModelCatalog.offlineQuality.id

    @Flag(help: "One JSON object per mode.")
    var json = false

    func run() async throws {
        try await reportingFailures {
            let modes: [EvaluationMode] =
                mode == "all"
                ? EvaluationMode.allCases
                : try mode.split(separator: ",").map {
                    guard let m = EvaluationMode(rawValue: String($0)) else {
                        throw Failure(
                            message: "unknown mode \($0); use baseline, lexical, coarse, quality, hybrid or all",
                            status: ExitStatus.dataError)
                    }
                    return m
                }
            let directory = URL(fileURLWithPath: dataset)
            let data = try BEIRDataset(directory: directory)
            guard let fast = ModelCatalog.model(named: fastModel), let quality = ModelCatalog.model(named: qualityModel) else {
                throw Failure(
                    message: "models must be catalog names: \(ModelCatalog.all.map(\.directoryName).joined(separator: ", "))",
                    status: ExitStatus.dataError)
            }
            let work = URL(
                fileURLWithPath: workDir
                    ?? FileManager.default.homeDirectoryForCurrentUser
                    .appendingPathComponent(".cache/episodic/eval").path)
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            let path = db ?? work.appendingPathComponent("\(data.name)-\(fast.directoryName)-\(quality.directoryName).sqlite").path
            var configuration = EpisodicMemory.Configuration()
            configuration.fastModel = fast.id
            configuration.qualityModel = quality.id
            configuration.threads = threads
            let memory = try await EpisodicMemory.open(path, configuration: configuration)
            let ingest = ProgressReporter("ingested", total: nil)
            try await Evaluator.ingest(data, into: memory) { done, total in ingest.update(done, note: "of \(total) documents") }
            ingest.finish()
            let evaluator = Evaluator(dataset: data, memory: memory)
            let baselines = Self.baselines(directory)
            if !json {
                print(
                    "\(data.name): \(data.documents.count) documents, \(data.queries.count) queries, \(Set(data.documents.map(\.agent)).count) agent(s); fast \(fast.directoryName), quality \(quality.directoryName)"
                )
                print(
                    TextTable.row(
                        [
                            "mode", "R@5", "R@10", "R@50", "R@100", "nDCG@10", "MRR@10", "p50 ms", "p95 ms",
                            "stages p50 (embed/coarse/rerank)",
                        ],
                        widths: [-10, 7, 7, 7, 7, 8, 8, 8, 8, -34]))
            }
            for mode in modes {
                let progress = ProgressReporter("\(mode.rawValue)", total: data.queries.count)
                let report = try await evaluator.run(mode) { done, _ in progress.update(done) }
                progress.finish()
                emit(report)
            }
            if !json && !baselines.isEmpty {
                print("reference (baselines.json, Python stack):")
                for (name, m) in baselines.sorted(by: { $0.key < $1.key }) {
                    print(
                        TextTable.row(
                            [name, "", f(m["R@10"]), "", f(m["R@100"]), f(m["nDCG@10"]), f(m["MRR@10"])],
                            widths: [-10, 7, 7, 7, 7, 8, 8]))
                }
            }
        }
    }

    func f(_ x: Double?) -> String { x.map { String(format: "%.4f", $0) } ?? "" }

    func emit(_ r: EvaluationReport) {
        let m = r.metrics
        if json {
            var stages: [String: Any] = [:]
            for stage in r.stageTimings.keys {
                stages[stage] = ["p50_ms": r.percentile(stage, 0.5), "p95_ms": r.percentile(stage, 0.95)]
            }
            print(
                JSONText.of([
                    "dataset": dataset, "mode": r.mode.rawValue, "queries": m.queries,
                    "recall@5": m.recall5, "recall@10": m.recall10, "recall@50": m.recall50, "recall@100": m.recall100,
                    "ndcg@10": m.ndcg10, "mrr@10": m.mrr10, "fallbacks": r.fallbacks, "stages": stages,
                ]))
            return
        }
        let stages = ["query_embedding", "coarse", "rerank"].map { String(format: "%.1f", r.percentile($0, 0.5)) }.joined(separator: "/")
        print(
            TextTable.row(
                [
                    r.mode.rawValue, f(m.recall5), f(m.recall10), f(m.recall50), f(m.recall100), f(m.ndcg10), f(m.mrr10),
                    String(format: "%.1f", r.percentile("total", 0.5)), String(format: "%.1f", r.percentile("total", 0.95)),
                    stages + (r.fallbacks > 0 ? " (\(r.fallbacks) fallbacks)" : ""),
                ],
                widths: [-10, 7, 7, 7, 7, 8, 8, 8, 8, -34]))
    }

    static func baselines(_ directory: URL) -> [String: [String: Double]] {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent("baselines.json").path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let methods = object["methods"] as? [String: [String: Any]]
        else { return [:] }
        return methods.mapValues { $0.compactMapValues { ($0 as? NSNumber)?.doubleValue } }
    }
}
