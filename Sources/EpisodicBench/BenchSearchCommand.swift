import ArgumentParser
import CommandSupport
import EpisodicMemory
import Foundation

/// `episodic-bench search`: top-k latency of the vector index, side by side with numpy and FAISS.
struct BenchSearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Top-k search latency over random unit vectors, vs numpy and FAISS IndexFlatIP (1 thread).",
        discussion: """
            For each N and agent count, N random unit vectors are spread evenly over the agents and \
            each query searches one agent's vectors, as peer_search.py does. Prints p50/p95 ms per \
            query and recall against exhaustive float32 search; with the peer venv, the peers' figures \
            on the same N and their ratio. --json prints one object per line with peer_search.py's keys.

            Example:
              swift run -c release episodic-bench search --n 10000,100000,1000000 --agents 1,100
            """)

    @Option(help: "Comma-separated vector counts.")
    var n = "10000,100000"

    @Option(help: "Dimension.")
    var dim = 384

    @Option(help: "Comma-separated agent counts (vectors spread evenly over them).")
    var agents = "1"

    @Option(help: "Results per query.")
    var k = 100

    @Option(help: "Queries per configuration.")
    var queries = 200

    @Option(help: "Peer libraries for peer_search.py.")
    var libs = "numpy,faiss_flat"

    @Option(help: "Peers folder (default: $EPISODIC_PEERS or ../shared/peers).")
    var peers: String?

    @Flag(help: "Skip the peer run.")
    var noPeer = false

    @Flag(help: "One JSON object per line.")
    var json = false

    @Option(help: "Also time opening a store of this many episodes (one agent, 384-dim vectors); 0 to skip.")
    var openStore = 100_000

    @Option(help: "Search a PostgreSQL store (postgres://…) instead of the in-memory index; the peer is pgvector queried from psycopg.")
    var db: String?

    func run() async throws {
        try await reportingFailures {
            let sizes = try Self.integers(n, option: "--n")
            let agentCounts = try Self.integers(agents, option: "--agents")
            if let db {
                try await PostgresSearchBenchmark(url: db, dim: dim, k: k, queries: queries, json: json, peers: peers, noPeer: noPeer)
                    .run(sizes: sizes, agentCounts: agentCounts)
                return
            }
            let runner = PeerRunner(peersOption: peers)
            let peerProblem = noPeer ? "skipped" : runner.unavailableReason(script: "peer_search.py")
            if !json {
                print("search kernel \(SearchKernel.selected.rawValue)")
                print(
                    TextTable.row(
                        ["lib", "n", "dim", "agents", "k", "p50 ms", "p95 ms", "recall", "ratio p50"],
                        widths: [-12, 9, 5, 7, 5, 10, 10, 8, 10]))
            }
            for size in sizes {
                for agentCount in agentCounts {
                    let ours = try Self.measure(n: size, dim: dim, agents: agentCount, k: k, queries: queries)
                    emit(ours, ratio: nil)
                    guard peerProblem == nil else { continue }
                    // peer_search.py's argpartition needs more than k vectors per agent.
                    guard size / agentCount > k else {
                        printError("peers skipped for n=\(size), agents=\(agentCount): they need more than k=\(k) vectors per agent")
                        continue
                    }
                    do {
                        let lines = try runner.run(
                            script: "peer_search.py",
                            arguments: [
                                "--n", "\(size)", "--dim", "\(dim)", "--agents", "\(agentCount)", "--k", "\(k)",
                                "--queries", "\(queries)", "--libs", libs,
                            ])
                        for line in lines { emitPeer(line, ours: ours) }
                    } catch {
                        printError("peer failed: \(error)")
                    }
                }
            }
            if let peerProblem, !noPeer { printError("peers not run: \(peerProblem)") }
            if openStore > 0 { try await measureOpen(episodes: openStore) }
        }
    }

    /// Builds a store of `episodes` episodes with vectors in a temporary file, then times opening
    /// it (migration check, column registry, loading the index): median of 3.
    func measureOpen(episodes: Int) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("episodic-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("bench.sqlite").path
        let column = VectorColumn(name: VectorColumn.defaultFastName, role: .fast, dimension: dim, modelID: "random")
        var random = BenchRandom(seed: 7)
        let buildStart = DispatchTime.now().uptimeNanoseconds
        let memory = try await EpisodicMemory.create(path, columns: [column])
        var start = 0
        while start < episodes {
            let count = min(5000, episodes - start)
            try await memory.add(
                (start..<(start + count)).map { i in
                    NewEpisode(
                        Episode(id: "e\(i)", agentID: "agent", content: "episode \(i)"), vectors: [column.name: random.unitVector(dim)])
                })
            start += count
        }
        await memory.close()
        let buildMs = Double(DispatchTime.now().uptimeNanoseconds - buildStart) / 1e6
        // Opening checks the schema and reads the column registry; the index loads on the first
        // search: both are timed.
        var openTimes: [Double] = [], loadTimes: [Double] = []
        for _ in 0..<3 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let reopened = try await EpisodicMemory.open(path)
            let t1 = DispatchTime.now().uptimeNanoseconds
            try await reopened.prepare(models: false)
            let t2 = DispatchTime.now().uptimeNanoseconds
            openTimes.append(Double(t1 - t0) / 1e6)
            loadTimes.append(Double(t2 - t1) / 1e6)
            await reopened.close()
        }
        let open = TimingSummary.median(openTimes.sorted()), load = TimingSummary.median(loadTimes.sorted())
        if json {
            print(
                JSONText.of([
                    "lib": "episodic", "open_store_episodes": episodes, "dim": dim, "open_ms": TimingSummary.round3(open),
                    "index_load_ms": TimingSummary.round3(load), "build_ms": TimingSummary.round3(buildMs),
                ]))
        } else {
            print(
                String(
                    format: "store of %d episodes × %d: open %.1f ms, index load %.1f ms (medians of 3; built in %.1f s)",
                    episodes, dim, open, load, buildMs / 1000))
        }
    }

    struct Figures {
        var n, dim, agents, k: Int
        var p50: Double, p95: Double, recall: Double
    }

    func emit(_ f: Figures, ratio: Double?) {
        if json {
            let object: [String: Any] = [
                "lib": "episodic", "n": f.n, "dim": f.dim, "agents": f.agents, "k": f.k,
                "p50_ms": TimingSummary.round3(f.p50 * 10) / 10,
                "p95_ms": TimingSummary.round3(f.p95 * 10) / 10, "recall": f.recall,
            ]
            print(String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(
                TextTable.row(
                    [
                        "episodic", "\(f.n)", "\(f.dim)", "\(f.agents)", "\(f.k)", String(format: "%.4f", f.p50),
                        String(format: "%.4f", f.p95), String(format: "%.4f", f.recall), "1.000",
                    ],
                    widths: [-12, 9, 5, 7, 5, 10, 10, 8, 10]))
        }
    }

    func emitPeer(_ line: [String: Any], ours: Figures) {
        if json {
            print(String(decoding: try! JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]), as: UTF8.self))
            return
        }
        let p50 = line["p50_ms"] as? Double ?? .nan
        let p95 = line["p95_ms"] as? Double ?? .nan
        print(
            TextTable.row(
                [
                    line["lib"] as? String ?? "?", "\(line["n"] ?? "")", "\(line["dim"] ?? "")", "\(line["agents"] ?? "")",
                    "\(line["k"] ?? "")", String(format: "%.4f", p50), String(format: "%.4f", p95),
                    String(format: "%.4f", line["recall"] as? Double ?? .nan),
                    // ours / theirs: below 1 means episodic is faster.
                    String(format: "%.3f", ours.p50 / p50),
                ],
                widths: [-12, 9, 5, 7, 5, 10, 10, 8, 10]))
    }

    static func integers(_ list: String, option: String) throws -> [Int] {
        let values = list.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 > 0 }) else {
            throw Failure(message: "\(option) takes positive integers separated by commas", status: ExitStatus.dataError)
        }
        return values
    }

    /// Builds the index and times `queries` searches; recall is checked by brute force on 20.
    static func measure(n: Int, dim: Int, agents: Int, k: Int, queries: Int) throws -> Figures {
        var random = BenchRandom(seed: 42)
        let column = VectorColumn(name: "bench", role: .fast, dimension: dim, modelID: "random")
        let index = VectorIndex(column: column)
        let perAgent = n / agents
        var batch: [(episodeID: String, agentID: String, vector: [Float])] = []
        var all: [[Float]] = []
        all.reserveCapacity(n)
        for i in 0..<(perAgent * agents) {
            let v = random.unitVector(dim)
            all.append(v)
            batch.append(("v\(i)", "agent-\(i / perAgent)", v))
            if batch.count == 10_000 { try index.upsert(batch); batch.removeAll(keepingCapacity: true) }
        }
        try index.upsert(batch)
        let queryVectors = (0..<queries).map { _ in (random.unitVector(dim), Int(random.next() % UInt64(agents))) }
        for (q, agent) in queryVectors.prefix(10) { _ = try index.search(q, agentID: "agent-\(agent)", topK: k) }
        var times: [Double] = []
        var recalls: [Double] = []
        for (i, (q, agent)) in queryVectors.enumerated() {
            var hits: [ScoredEpisode] = []
            times.append(try measureMilliseconds { hits = try index.search(q, agentID: "agent-\(agent)", topK: k) })
            if i < 20 {
                let lo = agent * perAgent
                let scored: [(id: String, score: Float)] = (lo..<(lo + perAgent)).map { row in
                    (id: "v\(row)", score: VectorKernels.dot(all[row], q))
                }
                let exact = scored.sorted { a, b in a.score != b.score ? a.score > b.score : a.id < b.id }.prefix(k).map(\.id)
                let found = Set(exact).intersection(hits.map(\.episodeID)).count
                recalls.append(Double(found) / Double(min(k, perAgent)))
            }
        }
        return Figures(
            n: perAgent * agents, dim: dim, agents: agents, k: k,
            p50: TimingSummary.percentile(times, 0.5), p95: TimingSummary.percentile(times, 0.95),
            recall: recalls.reduce(0, +) / Double(recalls.count))
    }
}

/// Random unit vectors for benchmarks (deterministic).
struct BenchRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state
    }
    mutating func unitVector(_ dimension: Int) -> [Float] {
        var v = [Float](repeating: 0, count: dimension)
        var norm: Float = 0
        for i in 0..<dimension {
            // Box–Muller from two uniforms.
            let u1: Float = Float(next() >> 40 | 1) / 16_777_216
            let u2: Float = Float(next() >> 40) / 16_777_216
            let radius: Float = (-2 * logf(u1)).squareRoot()
            let g: Float = radius * cosf(2 * Float.pi * u2)
            v[i] = g
            norm += g * g
        }
        let inverse = 1 / norm.squareRoot()
        return v.map { $0 * inverse }
    }
}
