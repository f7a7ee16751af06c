import ArgumentParser
import CommandSupport
import EpisodicMemory
import Foundation
import PostgresEpisodeStore

/// `episodic-bench retrieve`: end-to-end hybrid retrieval latency by stage.
struct BenchRetrieveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retrieve",
        abstract: "Hybrid retrieval latency (query embedding, coarse, rerank, total) over one agent's episodes.",
        discussion: """
            Builds (once, cached under ~/.cache/episodic/bench) a store of synthetic agent episodes \
            with real all-MiniLM-L6-v2 and all-mpnet-base-v2 vectors, then times hybrid retrievals. \
            --threads is the threads of each forward pass; the two query embeddings run one after \
            the other unless --concurrent-embedding (the default with 4+ cores). The models' \
            arithmetic is the library's default (--precision auto) unless --precision says otherwise.

            Example:
              swift run -c release episodic-bench retrieve --episodes 10000 --threads 2
            """)

    @Option(help: "Episodes of the one agent.")
    var episodes = 10_000

    @Option(help: "Threads of each forward pass (matrix products and attention).")
    var threads = 1

    @Option(help: "Timed queries.")
    var queries = 200

    @Flag(inversion: .prefixedNo, help: "Embed the query with both models at once (default: on with 4+ cores).")
    var concurrentEmbedding: Bool?

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "The store: a postgres:// URL (default: a SQLite file in the bench cache).")
    var db: String?

    @Option(help: "Agents the episodes are spread over (queries go to random ones).")
    var agents = 1

    @Flag(help: "Random unit vectors for the episodes instead of the models' (large stores; queries are still embedded).")
    var randomVectors = false

    @Option(help: "The models' arithmetic while timing (fp32, bf16, int8, auto); the store is built in fp32 whatever this says.")
    var precision = EpisodicMemory.Configuration().precision

    @Option(help: "Also time retrievals with a metadata filter keeping this percentage of each agent's episodes (0 to skip).")
    var filterPercent = 1

    /// The agent of episode `i`: `bench` for one agent, else `bench-<n>` in equal blocks.
    static func agent(of i: Int, episodes: Int, agents: Int) -> String {
        agents == 1 ? "bench" : "bench-\(i / max(1, episodes / agents))"
    }

    func run() async throws {
        try await reportingFailures {
            let fast = ModelCatalog.defaultFast, quality = ModelCatalog.offlineQuality
            let directory = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/episodic/bench")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let shape = "\(episodes)-\(agents)-\(randomVectors ? "random" : "real")"
            let path: String
            if let db {
                var components = URLComponents(string: db)!
                components.queryItems =
                    (components.queryItems ?? []).filter { $0.name != "schema" }
                    + [URLQueryItem(name: "schema", value: "bench_retrieve_" + shape.replacingOccurrences(of: "-", with: "_"))]
                path = components.string!
            } else {
                path =
                    directory.appendingPathComponent(
                        "retrieve-\(episodes)\(agents == 1 ? "" : "-\(agents)")\(randomVectors ? "-random" : "")-\(fast.directoryName)-\(quality.directoryName).sqlite"
                    ).path
            }
            var configuration = EpisodicMemory.Configuration()
            configuration.fastModel = fast.id
            configuration.qualityModel = quality.id
            // Building uses both cores whatever --threads says: it is not what is measured.
            configuration.threads = 2
            let builder = try await EpisodicMemory.open(path, configuration: configuration)
            let existing = try await builder.stats().episodes
            // A large new PostgreSQL store is loaded without its HNSW indexes, then they are built in one pass.
            let bulk = existing == 0 && episodes >= 100_000 ? builder.store as? PostgresEpisodeStore : nil
            try await bulk?.dropVectorIndexes()
            // Resuming an interrupted build: the first batch may be partly stored already.
            let resuming = existing > 0
            if existing < episodes {
                let texts = SyntheticEpisodes.episodes(episodes)
                let progress = ProgressReporter("building benchmark store", total: episodes)
                var random = BenchRandom(seed: 77)
                let step = randomVectors ? 1000 : 128
                for start in stride(from: existing - existing % step, to: episodes, by: step) {
                    let batch = (start..<min(episodes, start + step)).map { i -> NewEpisode in
                        // Every episode in one of 100 buckets: a filter on buckets keeps a known share.
                        let episode = Episode(
                            id: "b\(i)", agentID: Self.agent(of: i, episodes: episodes, agents: agents), content: texts[i],
                            metadata: ["bucket": .number(JSONNumber(i % 100))])
                        guard randomVectors else { return NewEpisode(episode, idempotent: resuming) }
                        return NewEpisode(
                            episode,
                            vectors: [
                                VectorColumn.defaultFastName: random.unitVector(fast.dimension),
                                VectorColumn.defaultQualityName: random.unitVector(quality.dimension),
                            ], idempotent: resuming)
                    }
                    try await builder.insert(batch)
                    progress.update(start + batch.count)
                }
                if let bulk {
                    // Only the indexes a query reads: agents within exact_scan_limit are scanned
                    // exactly, and the quality column is searched only for agents small enough for
                    // its top-K to join the candidates (larger ones rerank their candidates' vectors).
                    let perAgent = episodes / max(1, agents)
                    let exactLimit = bulk.postgres.exactScanLimit
                    var needed = Set<String>()
                    if perAgent > exactLimit { needed.insert(VectorColumn.defaultFastName) }
                    if perAgent > exactLimit && perAgent <= RetrievalOptions().qualityScanLimit { needed.insert(VectorColumn.defaultQualityName) }
                    let seconds = try await bulk.buildVectorIndexes(maintenanceWorkMemMB: 4096, only: needed)
                    printError(
                        String(format: "built the HNSW indexes of [%@] in %.0f s", needed.sorted().joined(separator: ", "), seconds))
                }
                progress.finish()
            }
            await builder.close()
            configuration.threads = threads
            configuration.precision = precision
            let memory = try await EpisodicMemory.open(path, configuration: configuration)
            try await memory.prepare(models: true)
            var options = RetrievalOptions(limit: 10, timeBudgetMs: nil)
            if let concurrentEmbedding { options.concurrentQueryEmbedding = concurrentEmbedding }
            let texts = SyntheticEpisodes.queries(queries)
            let queryAgents = (0..<texts.count).map { Self.agent(of: ($0 * 7919) % episodes, episodes: episodes, agents: agents) }
            for (q, agent) in zip(texts, queryAgents).prefix(5) {
                _ = try await memory.retrieve(agentID: agent, query: q, options: options)
            }
            // The same queries ordered by rank fusion over the coarse top 50 (the order before score
            // fusion scored every candidate), for the cost of the new default; the configurations
            // take turns query by query, so that neither runs on a warmer machine.
            var rankOptions = options
            rankOptions.fusion = .rrf
            var configurations = [options, rankOptions]
            if filterPercent > 0 {
                var withFilter = options
                withFilter.filter = EpisodeFilter(metadata: [
                    "bucket": .oneOf((0..<min(100, filterPercent)).map { .number(JSONNumber($0)) })
                ])
                configurations.append(withFilter)
            }
            let measured = try await Self.measure(memory, texts: texts, agents: queryAgents, configurations: configurations)
            let unfiltered = measured[0]
            let rankFused = measured[1]
            let filtered: Timings? = filterPercent > 0 ? measured[2] : nil
            let fallbacks = unfiltered.fallbacks
            func p(_ v: [Double], _ q: Double) -> Double { TimingSummary.percentile(v, q) }
            if json {
                print(
                    JSONText.of([
                        "episodes": episodes, "threads": threads, "queries": queries, "fallbacks": fallbacks,
                        "precision": precision.resolved.rawValue,
                        "query_embedding": ["p50_ms": p(unfiltered.embed, 0.5), "p95_ms": p(unfiltered.embed, 0.95)],
                        "coarse": ["p50_ms": p(unfiltered.coarse, 0.5), "p95_ms": p(unfiltered.coarse, 0.95)],
                        "rerank": ["p50_ms": p(unfiltered.rerank, 0.5), "p95_ms": p(unfiltered.rerank, 0.95)],
                        "total": ["p50_ms": p(unfiltered.total, 0.5), "p95_ms": p(unfiltered.total, 0.95)],
                        "filtered_percent": filterPercent,
                        "filtered_total": ["p50_ms": p(filtered?.total ?? [], 0.5), "p95_ms": p(filtered?.total ?? [], 0.95)],
                        "filtered_short": filtered?.short ?? 0,
                        "rrf_total": ["p50_ms": p(rankFused.total, 0.5), "p95_ms": p(rankFused.total, 0.95)],
                        "rrf_rerank": ["p50_ms": p(rankFused.rerank, 0.5), "p95_ms": p(rankFused.rerank, 0.95)],
                    ]))
                return
            }
            print(
                "hybrid retrieval over \(episodes) episodes of \(agents == 1 ? "one agent" : "\(agents) agents") in \(db == nil ? "SQLite" : "PostgreSQL")\(randomVectors ? " (random episode vectors)" : "") (\(fast.directoryName) + \(quality.directoryName), \(precision.resolved.rawValue)), \(threads) thread(s), query embeddings \(options.concurrentQueryEmbedding ? "concurrent" : "one after the other"), \(queries) queries"
            )
            let filterHeader = filtered == nil ? [] : ["\(filterPercent) % filter p50", "p95"]
            print(TextTable.row(["stage", "p50 ms", "p95 ms"] + filterHeader, widths: [-18, 9, 9, 19, 9]))
            let rows: [(String, KeyPath<Timings, [Double]>)] = [
                ("query embedding", \.embed), ("  fast model", \.fastEmbed), ("  quality model", \.qualityEmbed),
                ("coarse", \.coarse), ("  dense", \.dense), ("  lexical", \.lexical), ("rerank", \.rerank), ("total", \.total),
            ]
            for (name, keyPath) in rows {
                var cells = [
                    name, String(format: "%.2f", p(unfiltered[keyPath: keyPath], 0.5)),
                    String(format: "%.2f", p(unfiltered[keyPath: keyPath], 0.95)),
                ]
                if let filtered {
                    cells += [
                        String(format: "%.2f", p(filtered[keyPath: keyPath], 0.5)),
                        String(format: "%.2f", p(filtered[keyPath: keyPath], 0.95)),
                    ]
                }
                print(TextTable.row(cells, widths: [-18, 9, 9, 19, 9]))
            }
            print(
                String(
                    format:
                        "score fusion (every candidate reranked) vs rank fusion (coarse top %d): rerank p50 %.2f vs %.2f ms, total p50 %.2f vs %.2f ms",
                    options.rerankTopK, p(unfiltered.rerank, 0.5), p(rankFused.rerank, 0.5), p(unfiltered.total, 0.5),
                    p(rankFused.total, 0.5)))
            if fallbacks > 0 { print("\(fallbacks) queries fell back to the coarse ranking") }
            if let filtered {
                print(
                    "filtered: \(filtered.short) of \(queries) retrievals returned fewer than 10 results (each agent has \(episodes / agents * filterPercent / 100) passing episodes)"
                )
            }
        }
    }

    /// Stage timings of a series of retrievals.
    struct Timings {
        var embed: [Double] = [], coarse: [Double] = [], rerank: [Double] = [], total: [Double] = []
        var dense: [Double] = [], lexical: [Double] = [], fastEmbed: [Double] = [], qualityEmbed: [Double] = []
        var fallbacks = 0
        /// Retrievals with fewer than `limit` results.
        var short = 0
    }

    /// Times every query under each configuration, the configurations taking turns per query and
    /// the first turn rotating, so that none always meets a cold agent (a large PostgreSQL store
    /// reads an agent's rows from disk the first time) or always a warm one.
    static func measure(_ memory: EpisodicMemory, texts: [String], agents: [String], configurations: [RetrievalOptions]) async throws
        -> [Timings]
    {
        var timings = [Timings](repeating: Timings(), count: configurations.count)
        for (n, (q, agent)) in zip(texts, agents).enumerated() {
            for turn in configurations.indices {
                let i = (n + turn) % configurations.count
                let options = configurations[i]
                let r = try await memory.retrieve(agentID: agent, query: q, options: options)
                timings[i].embed.append(r.timings.queryEmbeddingMs); timings[i].coarse.append(r.timings.coarseMs)
                timings[i].rerank.append(r.timings.rerankMs); timings[i].total.append(r.timings.totalMs)
                timings[i].dense.append(r.timings.denseMs); timings[i].lexical.append(r.timings.lexicalMs)
                timings[i].fastEmbed.append(r.timings.fastEmbeddingMs); timings[i].qualityEmbed.append(r.timings.qualityEmbeddingMs)
                if r.fallbackReason != nil { timings[i].fallbacks += 1 }
                if r.results.count < (options.limit ?? 0) { timings[i].short += 1 }
            }
        }
        return timings
    }
}
