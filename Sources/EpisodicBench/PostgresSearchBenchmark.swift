import CommandSupport
import EpisodicMemory
import Foundation
import PostgresEpisodeStore

/// `bench search --db postgres://…`: per-agent top-k through the PostgreSQL store (the facade's
/// `search`: exact scan or HNSW with iterative scans, rescored), beside the same query issued
/// directly through psycopg + pgvector (`peer_pgvector.py`) against the same server.
struct PostgresSearchBenchmark {
    var url: String
    var dim: Int
    var k: Int
    var queries: Int
    var json: Bool
    var peers: String?
    var noPeer: Bool

    func run(sizes: [Int], agentCounts: [Int]) async throws {
        let runner = PeerRunner(peersOption: peers)
        let peerProblem = noPeer ? "skipped" : runner.unavailableReason(script: "peer_pgvector.py")
        if !json {
            print(
                TextTable.row(
                    ["lib", "n", "agents", "k", "p50 ms", "p95 ms", "recall", "short", "ratio p50"],
                    widths: [-18, 9, 7, 5, 10, 10, 8, 6, 10]))
        }
        for size in sizes {
            for agents in agentCounts {
                let ours = try await measure(n: size, agents: agents)
                emit(
                    [
                        "lib": "episodic_postgres (\(ours.path))", "n": size, "agents": agents, "k": k, "p50_ms": ours.p50,
                        "p95_ms": ours.p95,
                        "recall": ours.recall, "short_results": ours.short, "load_s": ours.loadSeconds,
                    ], ratio: nil)
                guard peerProblem == nil else { continue }
                do {
                    // The peer's own table of the same size and spread; --keep reuses it across runs.
                    let lines = try runner.run(
                        script: "peer_pgvector.py",
                        arguments: [
                            "--url", Self.withoutParameters(url), "--n", "\(size)", "--dim", "\(dim)", "--agents", "\(agents)", "--k",
                            "\(k)",
                            "--queries", "\(queries)", "--index", ours.path == "hnsw" ? "hnsw" : "exact", "--keep",
                        ])
                    for line in lines { emit(line, ratio: (line["p50_ms"] as? Double).map { ours.p50 / $0 }) }
                } catch {
                    printError("peer failed: \(error)")
                }
            }
        }
        if let peerProblem, !noPeer { printError("peer not run: \(peerProblem)") }
    }

    struct Figures {
        var p50: Double, p95: Double, recall: Double, short: Int, loadSeconds: Double
        var path: String
    }

    /// Fills (once) a store of `n` random unit vectors spread over `agents`, in a PostgreSQL schema
    /// named after the shape, then times `queries` searches within random agents.
    func measure(n: Int, agents: Int) async throws -> Figures {
        var components = URLComponents(string: url)!
        var items = (components.queryItems ?? []).filter { $0.name != "schema" }
        items.append(URLQueryItem(name: "schema", value: "bench_search_\(n)_\(agents)_\(dim)"))
        components.queryItems = items
        let location = components.string!
        let column = VectorColumn(name: VectorColumn.defaultFastName, role: .fast, dimension: dim, modelID: "random")
        let perAgent = n / agents
        var random = BenchRandom(seed: 42)
        // All vectors, in agent order, for the exact answers.
        var all: [[Float]] = []
        all.reserveCapacity(perAgent * agents)
        for _ in 0..<(perAgent * agents) { all.append(random.unitVector(dim)) }
        let memory =
            try await StoreLocation(location).exists()
            ? try await EpisodicMemory.open(location) : try await EpisodicMemory.create(location, columns: [column])
        let present = try await memory.stats().episodes
        let loadStart = DispatchTime.now().uptimeNanoseconds
        let exactLimit = Int(items.first { $0.name == "exact_scan_limit" }?.value ?? "") ?? 10_000
        let bulk = present == 0 && all.count >= 100_000
        var indexSeconds: Double?
        // A large new store is loaded without its HNSW index, which is then built in one pass.
        if bulk { try await (memory.store as? PostgresEpisodeStore)?.dropVectorIndexes() }
        if present < all.count {
            let progress = ProgressReporter("loading \(n) vectors into PostgreSQL", total: all.count)
            var start = present - present % 1000
            while start < all.count {
                let end = min(all.count, start + 1000)
                try await memory.add(
                    (start..<end).map { i in
                        NewEpisode(
                            Episode(id: "v\(i)", agentID: "agent-\(i / perAgent)", content: "vector \(i)"), vectors: [column.name: all[i]])
                    }, quality: .deferred)
                start = end
                progress.update(start)
            }
            progress.finish()
        }
        // Agents at or under the exact-scan limit are always scanned exactly, so their queries
        // never read the HNSW index: it is built only when some agent is larger (a 1M-row build
        // takes tens of minutes on 2 cores).
        var indexSkipped = false
        if bulk && perAgent > exactLimit {
            indexSeconds = try await (memory.store as? PostgresEpisodeStore)?.buildVectorIndexes(maintenanceWorkMemMB: 4096)
        } else if bulk {
            indexSkipped = true
        }
        let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e9
        let queryVectors = (0..<queries).map { _ in (random.unitVector(dim), Int(random.next() % UInt64(agents))) }
        for (q, agent) in queryVectors.prefix(5) {
            _ = try await memory.store.similaritySearch(vector: q, column: column.name, topK: k, agentID: "agent-\(agent)")
        }
        var times: [Double] = [], recalls: [Double] = []
        var short = 0
        for (q, agent) in queryVectors {
            let start = DispatchTime.now().uptimeNanoseconds
            // The store's search, as the peer's query: ids and scores, no episode rows.
            let hits = try await memory.store.similaritySearch(vector: q, column: column.name, topK: k, agentID: "agent-\(agent)")
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            if hits.count < min(k, perAgent) { short += 1 }
            let lo = agent * perAgent
            let exact = Self.exactTop(k, rows: lo..<(lo + perAgent), vectors: all, query: q)
            recalls.append(Double(Set(exact).intersection(hits.map(\.episodeID)).count) / Double(min(k, perAgent)))
        }
        await memory.close()
        if let indexSeconds, !json { print(String(format: "  (loaded without the HNSW index, then built it in %.0f s)", indexSeconds)) }
        if indexSkipped, !json { print("  (no HNSW index built: every agent is within exact_scan_limit, so every query scans exactly)") }
        return Figures(
            p50: TimingSummary.percentile(times, 0.5), p95: TimingSummary.percentile(times, 0.95),
            recall: recalls.reduce(0, +) / Double(recalls.count), short: short, loadSeconds: loadSeconds,
            path: perAgent > exactLimit ? "hnsw" : "exact")
    }

    /// The ids (`v<row>`) of the `k` rows with the largest inner product, ties by id.
    static func exactTop(_ k: Int, rows: Range<Int>, vectors: [[Float]], query: [Float]) -> [String] {
        var best: [(id: String, score: Float)] = []
        func better(_ a: (id: String, score: Float), _ b: (id: String, score: Float)) -> Bool {
            a.score != b.score ? a.score > b.score : a.id < b.id
        }
        for row in rows {
            let candidate = (id: "v\(row)", score: VectorKernels.dot(vectors[row], query))
            if best.count == k, let last = best.last, !better(candidate, last) { continue }
            let at = best.firstIndex { better(candidate, $0) } ?? best.count
            best.insert(candidate, at: at)
            if best.count > k { best.removeLast() }
        }
        return best.map(\.id)
    }

    static func withoutParameters(_ url: String) -> String {
        var components = URLComponents(string: url)!
        components.queryItems = nil
        return components.string!
    }

    func emit(_ line: [String: Any], ratio: Double?) {
        var line = line
        if let ratio { line["ratio_ours_over_this"] = TimingSummary.round3(ratio) }
        if json { print(JSONText.of(line)); return }
        func f(_ key: String, _ format: String) -> String { (line[key] as? Double).map { String(format: format, $0) } ?? "—" }
        print(
            TextTable.row(
                [
                    line["lib"] as? String ?? "?", "\(line["n"] ?? "")", "\(line["agents"] ?? "")", "\(line["k"] ?? "")",
                    f("p50_ms", "%.3f"), f("p95_ms", "%.3f"), f("recall", "%.4f"), "\(line["short_results"] ?? "")",
                    ratio.map { String(format: "%.3f", $0) } ?? "",
                ],
                widths: [-18, 9, 7, 5, 10, 10, 8, 6, 10]))
    }
}
