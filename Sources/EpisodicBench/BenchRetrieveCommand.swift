import ArgumentParser
import CommandSupport
import EpisodicMemory
import Foundation

/// `episodic-bench retrieve`: end-to-end hybrid retrieval latency by stage.
struct BenchRetrieveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retrieve",
        abstract: "Hybrid retrieval latency (query embedding, coarse, rerank, total) over one agent's episodes.",
        discussion: """
            Builds (once, cached under ~/.cache/episodic/bench) a store of synthetic agent episodes \
            with real all-MiniLM-L6-v2 and all-mpnet-base-v2 vectors, then times hybrid retrievals. \
            With --threads 1 the two query embeddings run one after the other; with 2 they run \
            concurrently, one per core.

            Example:
              swift run -c release episodic-bench retrieve --episodes 10000 --threads 1
            """)

    @Option(help: "Episodes of the one agent.")
    var episodes = 10_000

    @Option(help: "Threads: 1 = sequential query embeddings, 2 = concurrent.")
    var threads = 1

    @Option(help: "Timed queries.")
    var queries = 200

    @Flag(inversion: .prefixedNo, help: "Embed the query with both models at once (default: on with 4+ cores).")
    var concurrentEmbedding: Bool?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() async throws {
        try await reportingFailures {
            let fast = ModelCatalog.defaultFast, quality = ModelCatalog.offlineQuality
            let directory = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/episodic/bench")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let path = directory.appendingPathComponent("retrieve-\(episodes)-\(fast.directoryName)-\(quality.directoryName).sqlite").path
            var configuration = EpisodicMemory.Configuration()
            configuration.fastModel = fast.id
            configuration.qualityModel = quality.id
            // Building uses both cores whatever --threads says: it is not what is measured.
            configuration.threads = 2
            let builder = try await EpisodicMemory.open(path, configuration: configuration)
            let existing = try await builder.stats().episodes
            if existing < episodes {
                let texts = SyntheticEpisodes.episodes(episodes)
                let progress = ProgressReporter("building benchmark store", total: episodes)
                for start in stride(from: existing, to: episodes, by: 128) {
                    let batch = (start..<min(episodes, start + 128)).map { Episode(id: "b\($0)", agentID: "bench", content: texts[$0]) }
                    try await builder.add(batch)
                    progress.update(start + batch.count)
                }
                progress.finish()
            }
            await builder.close()
            configuration.threads = threads
            let memory = try await EpisodicMemory.open(path, configuration: configuration)
            try await memory.prepare(models: true)
            var options = RetrievalOptions(limit: 10, timeBudgetMs: nil)
            if let concurrentEmbedding { options.concurrentQueryEmbedding = concurrentEmbedding }
            let texts = SyntheticEpisodes.queries(queries)
            for q in texts.prefix(5) { _ = try await memory.retrieve(agentID: "bench", query: q, options: options) }
            var embed: [Double] = [], coarse: [Double] = [], rerank: [Double] = [], total: [Double] = []
            var dense: [Double] = [], lexical: [Double] = [], fastEmbed: [Double] = [], qualityEmbed: [Double] = []
            var fallbacks = 0
            for q in texts {
                let r = try await memory.retrieve(agentID: "bench", query: q, options: options)
                embed.append(r.timings.queryEmbeddingMs); coarse.append(r.timings.coarseMs)
                rerank.append(r.timings.rerankMs); total.append(r.timings.totalMs)
                dense.append(r.timings.denseMs); lexical.append(r.timings.lexicalMs)
                fastEmbed.append(r.timings.fastEmbeddingMs); qualityEmbed.append(r.timings.qualityEmbeddingMs)
                if r.fallbackReason != nil { fallbacks += 1 }
            }
            func p(_ v: [Double], _ q: Double) -> Double { TimingSummary.percentile(v, q) }
            if json {
                print(
                    JSONText.of([
                        "episodes": episodes, "threads": threads, "queries": queries, "fallbacks": fallbacks,
                        "query_embedding": ["p50_ms": p(embed, 0.5), "p95_ms": p(embed, 0.95)],
                        "coarse": ["p50_ms": p(coarse, 0.5), "p95_ms": p(coarse, 0.95)],
                        "rerank": ["p50_ms": p(rerank, 0.5), "p95_ms": p(rerank, 0.95)],
                        "total": ["p50_ms": p(total, 0.5), "p95_ms": p(total, 0.95)],
                    ]))
                return
            }
            print(
                "hybrid retrieval over \(episodes) episodes of one agent (\(fast.directoryName) + \(quality.directoryName)), \(threads) thread(s), query embeddings \(options.concurrentQueryEmbedding ? "concurrent" : "one after the other"), \(queries) queries"
            )
            print(TextTable.row(["stage", "p50 ms", "p95 ms"], widths: [-18, 9, 9]))
            for (name, values) in [
                ("query embedding", embed), ("  fast model", fastEmbed), ("  quality model", qualityEmbed),
                ("coarse", coarse), ("  dense", dense), ("  lexical", lexical), ("rerank", rerank), ("total", total),
            ] {
                print(
                    TextTable.row(
                        [name, String(format: "%.2f", p(values, 0.5)), String(format: "%.2f", p(values, 0.95))], widths: [-18, 9, 9]))
            }
            if fallbacks > 0 { print("\(fallbacks) queries fell back to the coarse ranking") }
        }
    }
}
