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
            fast and quality vectors) into a store kept under --work-dir, reused by later runs, or \
            into --db (a SQLite path or a postgres:// URL with ?schema=…). --mode lexical alone \
            ingests no vectors (a store of its own, made in seconds). Each \
            query is searched within its agent. Metrics follow trec_eval; means over queries with \
            relevance judgments. baselines.json in the dataset folder, when present, is printed beside.

            Modes: baseline (fast vectors), lexical (BM25), coarse (dense + BM25 fused), quality \
            (quality vectors), hybrid (the full pipeline), all. "cand R" is the recall of every \
            candidate a mode ranked (for hybrid: the union of all stages — the ceiling its order \
            works under); queries with a category get nDCG@10 per category; the last line compares \
            hybrid with the best single stage (the rule: never more than 0.005 below it).

            --split tune|test evaluates one half of the queries (by a hash of their id): choose \
            parameters (--fusion, --normalization, --weights) on tune, report on test.

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

    /// `--db`: ingest into this store instead of the cache (a SQLite path or a postgres:// URL, e.g.
    /// with `?schema=eval_realtalk`). The shared option group, so that the root command's `--db`
    /// does not take the value away from this one.
    @OptionGroup var store: StoreOptions

    @Option(help: "Fast model (catalog name).")
    var fastModel = ModelCatalog.defaultFast.id

    @Option(help: "Quality model (catalog name).")
    var qualityModel = ModelCatalog.offlineQuality.id

    @Option(help: "Ingest each document with context: none, or previous-turn (the agent's previous document, embedded and indexed with it as its summary).")
    var context = EpisodeContext.none.rawValue

    @Option(help: "Queries: all, or one half by a hash of their id — tune (to choose parameters on) or test (to report on).")
    var split = "all"

    @Option(help: "Final fusion of the hybrid pipeline: scores (normalised scores, the default) or rrf (ranks).")
    var fusion = RetrievalOptions().fusion.rawValue

    @Option(help: "Score normalisation of --fusion scores: z_score (the default), min_max or dbsf.")
    var normalization = RetrievalOptions().normalization.rawValue

    @Option(help: "Stage weights of --fusion scores: fixed, or confidence (scaled per query by the z-score of each stage's best hit).")
    var weighting = RetrievalOptions().weighting.rawValue

    @Option(help: "Fusion weights dense,lexical,quality (default: the method's).")
    var weights: String?

    @Flag(help: "One JSON object per mode.")
    var json = false

    @Option(
        help: ArgumentHelp(
            "Also write every hybrid candidate of every query with each stage's score and its relevance, as JSON lines, to this file.",
            discussion: "For comparing fusion functions offline: nothing is embedded again.", valueName: "file"))
    var dumpCandidates: String?

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
            let full = try BEIRDataset(directory: directory)
            guard let split = BEIRDataset.Split(rawValue: split) else {
                throw Failure(message: "unknown split \(self.split); use all, tune or test", status: ExitStatus.dataError)
            }
            var options = RetrievalOptions(limit: 100, timeBudgetMs: nil)
            guard let fusion = FusionMethod(rawValue: fusion), let normalization = ScoreNormalization(rawValue: normalization) else {
                throw Failure(
                    message: "unknown --fusion \(fusion) or --normalization \(normalization); use scores|rrf and z_score|min_max|dbsf",
                    status: ExitStatus.dataError)
            }
            options.fusion = fusion
            guard let weighting = FusionWeighting(rawValue: weighting) else {
                throw Failure(message: "unknown --weighting \(weighting); use fixed or confidence", status: ExitStatus.dataError)
            }
            options.weighting = weighting
            options.normalization = normalization
            if let weights {
                let w = weights.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
                guard w.count == 3 else {
                    throw Failure(
                        message: "--weights takes three numbers dense,lexical,quality, got \(weights)", status: ExitStatus.dataError)
                }
                options.weights = RankFusion.Weights(dense: w[0], lexical: w[1], quality: w[2])
            }
            do { try options.validate() } catch { throw Failure(message: "\(error)", status: ExitStatus.dataError) }
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
            // The lexical stage alone needs no embeddings: its store gets a placeholder fast column
            // that no model fills, so ingesting a set takes seconds instead of embedding every
            // document with both models.
            let lexicalOnly = modes == [.lexical]
            // Vectors of every precision are comparable, but the evaluation of a precision needs the
            // documents embedded in it too: each precision but fp32 gets a store of its own.
            let precision = store.effectivePrecision.resolved
            guard let context = EpisodeContext(rawValue: context) else {
                throw Failure(message: "unknown --context \(self.context); use none or previous-turn", status: ExitStatus.dataError)
            }
            let suffix = (precision == .fp32 ? "" : "-" + precision.rawValue) + (context == .none ? "" : "-" + context.rawValue)
            let name =
                lexicalOnly
                ? "\(full.name)-lexical\(context == .none ? "" : "-" + context.rawValue)"
                : "\(full.name)-\(fast.directoryName)-\(quality.directoryName)\(suffix)"
            let path = store.db ?? work.appendingPathComponent("\(name).sqlite").path
            var configuration = EpisodicMemory.Configuration()
            configuration.fastModel = fast.id
            configuration.qualityModel = quality.id
            configuration.threads = threads
            configuration.precision = store.effectivePrecision
            let fresh = try await !StoreLocation(path).exists()
            let memory =
                try await lexicalOnly && fresh
                ? EpisodicMemory.create(path, columns: [Self.placeholderColumn], configuration: configuration)
                : EpisodicMemory.open(path, configuration: configuration)
            let ingest = ProgressReporter("ingested", total: nil)
            let placeholder =
                memory.column(role: .fast)?.modelID == Self.placeholderColumn.modelID ? [Float](repeating: 0.125, count: 8) : nil
            try await Evaluator.ingest(full, into: memory, placeholderFastVector: placeholder, context: context) { done, total in
                ingest.update(done, note: "of \(total) documents")
            }
            ingest.finish()
            let data = full.restricted(to: split)
            let evaluator = Evaluator(dataset: data, memory: memory, options: options)
            let baselines = Self.baselines(directory)
            if !json {
                print(
                    "\(data.name): \(data.documents.count) documents, \(data.queries.count) queries (\(split.rawValue)), \(Set(data.documents.map(\.agent)).count) agent(s); fast \(fast.directoryName), quality \(quality.directoryName); fusion \(fusion.rawValue)\(fusion == .scores ? " " + normalization.rawValue + " " + weighting.rawValue : ""), weights \(options.effectiveWeights)"
                )
                print(
                    TextTable.row(
                        [
                            "mode", "R@5", "R@10", "R@50", "R@100", "cand R", "nDCG@10", "MRR@10", "p50 ms", "p95 ms",
                            "stages p50 (embed/coarse/rerank)",
                        ],
                        widths: [-10, 7, 7, 7, 7, 7, 8, 8, 8, 8, -34]))
            }
            var reports: [EvaluationReport] = []
            for mode in modes {
                let progress = ProgressReporter("\(mode.rawValue)", total: data.queries.count)
                let report = try await evaluator.run(mode) { done, _ in progress.update(done) }
                progress.finish()
                emit(report)
                reports.append(report)
            }
            if let dumpCandidates {
                let progress = ProgressReporter("dump", total: data.queries.count)
                try await evaluator.dumpCandidates(to: URL(fileURLWithPath: dumpCandidates)) { done, _ in progress.update(done) }
                progress.finish()
            }
            if !json {
                printCategories(reports)
                if let line = Self.comparison(reports) { print(line) }
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

    /// The fast column of a store made for the lexical stage alone.
    static let placeholderColumn = VectorColumn(
        name: VectorColumn.defaultFastName, role: .fast, dimension: 8, modelID: "none (lexical evaluation)")

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
                    "ndcg@10": m.ndcg10, "mrr@10": m.mrr10, "candidate_recall": m.recallAll, "fallbacks": r.fallbacks, "stages": stages,
                    "split": split,
                    "categories": r.byCategory.mapValues { ["queries": $0.queries, "ndcg@10": $0.ndcg10, "recall@10": $0.recall10] },
                ]))
            return
        }
        let stages = ["query_embedding", "coarse", "rerank"].map { String(format: "%.1f", r.percentile($0, 0.5)) }.joined(separator: "/")
        print(
            TextTable.row(
                [
                    r.mode.rawValue, f(m.recall5), f(m.recall10), f(m.recall50), f(m.recall100), f(m.recallAll), f(m.ndcg10), f(m.mrr10),
                    String(format: "%.1f", r.percentile("total", 0.5)), String(format: "%.1f", r.percentile("total", 0.95)),
                    stages + (r.fallbacks > 0 ? " (\(r.fallbacks) fallbacks)" : ""),
                ],
                widths: [-10, 7, 7, 7, 7, 7, 8, 8, 8, 8, -34]))
    }

    /// nDCG@10 of each mode per query category, when the queries carry categories.
    func printCategories(_ reports: [EvaluationReport]) {
        let categories = Set(reports.flatMap(\.byCategory.keys)).sorted()
        guard !categories.isEmpty else { return }
        print("nDCG@10 by category (queries):")
        let widths = [-28] + reports.map { _ in 9 }
        print(TextTable.row(["category"] + reports.map(\.mode.rawValue), widths: widths))
        for category in categories {
            let n = reports.first?.byCategory[category]?.queries ?? 0
            print(TextTable.row(["\(category) (\(n))"] + reports.map { f($0.byCategory[category]?.ndcg10) }, widths: widths))
        }
    }

    /// "hybrid nDCG@10 … vs best single stage …": the rule that the pipeline's final order is never
    /// worse than its own best stage by more than 0.005.
    static func comparison(_ reports: [EvaluationReport]) -> String? {
        guard let hybrid = reports.first(where: { $0.mode == .hybrid }) else { return nil }
        let singles = reports.filter { [.baseline, .lexical, .quality].contains($0.mode) }
        guard let best = singles.max(by: { $0.metrics.ndcg10 < $1.metrics.ndcg10 }) else { return nil }
        let delta = hybrid.metrics.ndcg10 - best.metrics.ndcg10
        let figures = String(format: "%.4f vs %.4f: %+.4f", hybrid.metrics.ndcg10, best.metrics.ndcg10, delta)
        return "hybrid vs best single stage (\(best.mode.rawValue)), nDCG@10 \(figures) — "
            + (delta >= -0.005 ? "rule held (≥ −0.005)" : "RULE BROKEN (< −0.005)")
    }

    static func baselines(_ directory: URL) -> [String: [String: Double]] {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent("baselines.json").path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let methods = object["methods"] as? [String: [String: Any]]
        else { return [:] }
        return methods.mapValues { $0.compactMapValues { ($0 as? NSNumber)?.doubleValue } }
    }
}
