import ArgumentParser
import CommandSupport
import EpisodicMemory
import Foundation

/// `episodic-bench lexical`: per-agent full-text search in a store of many agents vs a store of
/// that agent alone (the agent-scoped terms of the full-text index, schema v7, should make the first
/// cost like the second).
struct BenchLexicalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lexical",
        abstract: "Per-agent lexical search latency: one agent among many vs the same agent alone.",
        discussion: """
            Builds (once, cached under ~/.cache/episodic/bench, or in --db for PostgreSQL) a store of \
            --agents agents × --per-agent synthetic episodes and a store holding one of those agents \
            alone, then times the same queries, searched within that agent, on both: p50/p95 and the \
            ratio many / alone.

            Example:
              swift run -c release episodic-bench lexical --agents 1000 --per-agent 1000
            """)

    @Option(help: "Agents in the large store.")
    var agents = 1000

    @Option(help: "Episodes per agent.")
    var perAgent = 1000

    @Option(help: "Timed queries.")
    var queries = 200

    @Option(help: "Where the large store lives: a SQLite path (default: the bench cache) or a postgres:// URL.")
    var db: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() async throws {
        try await reportingFailures {
            let directory = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/episodic/bench")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let many = db ?? directory.appendingPathComponent("lexical-\(agents)x\(perAgent).sqlite").path
            let alone = directory.appendingPathComponent("lexical-1x\(perAgent).sqlite").path
            let texts = SyntheticEpisodes.episodes(perAgent * agents, seed: 23)
            let target = "agent-\(agents / 2)"
            try await Self.build(many, agents: agents, perAgent: perAgent, texts: texts, onlyAgent: nil)
            try await Self.build(alone, agents: agents, perAgent: perAgent, texts: texts, onlyAgent: agents / 2)
            let questions = SyntheticEpisodes.queries(queries, seed: 31)
            let manyFigures = try await Self.time(many, agent: target, queries: questions, ranking: .fts5)
            let aloneFigures = try await Self.time(alone, agent: target, queries: questions, ranking: .fts5)
            let ratio = manyFigures.timing.median_ms / max(aloneFigures.timing.median_ms, 1e-9)
            // The SQLite stores' other ranking: the agent's postings in memory.
            let manyMemory =
                many.hasPrefix("postgres") ? nil : try await Self.time(many, agent: target, queries: questions, ranking: .memory)
            let aloneMemory = try await Self.time(alone, agent: target, queries: questions, ranking: .memory)
            // An agent's usual loop: a write, then a search (on a copy of the agent-alone store).
            let afterWrites = try await Self.timeAfterWrites(alone, agent: target, queries: questions, texts: texts)
            // Each store's two rankings must agree exactly (ties at the limit included: both keep
            // the first ids).
            let same =
                Self.sameRankings(aloneMemory.results, aloneFigures.results)
                && (manyMemory.map { Self.sameRankings($0.results, manyFigures.results) } ?? true)
            if json {
                var object: [String: Any] = [
                    "agents": agents, "per_agent": perAgent, "queries": queries,
                    "many_p50_ms": manyFigures.timing.median_ms, "many_p95_ms": manyFigures.timing.p95_ms,
                    "alone_p50_ms": aloneFigures.timing.median_ms, "alone_p95_ms": aloneFigures.timing.p95_ms,
                    "ratio_p50": TimingSummary.round3(ratio),
                    "alone_memory_p50_ms": aloneMemory.timing.median_ms, "alone_memory_p95_ms": aloneMemory.timing.p95_ms,
                    "same_results": same, "alone_load_ms": aloneMemory.loadMs ?? 0,
                    "alone_ranked_only_p50_ms": aloneFigures.rankedOnly.median_ms,
                    "alone_memory_ranked_only_p50_ms": aloneMemory.rankedOnly.median_ms,
                    "after_write_ranked_only_p50_ms": afterWrites.search.median_ms,
                    "after_write_ranked_only_p95_ms": afterWrites.search.p95_ms,
                    "after_write_from_memory": afterWrites.fromMemory, "write_p50_ms": afterWrites.write.median_ms,
                ]
                if let manyMemory {
                    object["many_memory_p50_ms"] = manyMemory.timing.median_ms
                    object["many_memory_p95_ms"] = manyMemory.timing.p95_ms
                }
                print(JSONText.of(object))
                return
            }
            print("lexical search within one agent of \(perAgent) episodes, top 100, \(queries) queries")
            // p50/p95 of the library's search (ranked ids, then their rows read); "ranked only":
            // the store's ranking alone, without the rows.
            let widths = [-28, 10, -20, 9, 9, 13]
            print(TextTable.row(["store", "episodes", "ranking", "p50 ms", "p95 ms", "ranked only"], widths: widths))
            func line(_ store: String, _ episodes: Int, _ ranking: String, _ figures: Figures) {
                print(
                    TextTable.row(
                        [
                            store, "\(episodes)", ranking, String(format: "%.3f", figures.timing.median_ms),
                            String(format: "%.3f", figures.timing.p95_ms), String(format: "%.3f", figures.rankedOnly.median_ms),
                        ], widths: widths))
            }
            let manyName = "\(agents) agents (\(many.hasPrefix("postgres") ? "postgres" : "sqlite"))"
            line(manyName, agents * perAgent, many.hasPrefix("postgres") ? "full-text index" : "FTS5", manyFigures)
            if let manyMemory { line(manyName, agents * perAgent, "postings in memory", manyMemory) }
            line("the agent alone (sqlite)", perAgent, "FTS5", aloneFigures)
            line("the agent alone (sqlite)", perAgent, "postings in memory", aloneMemory)
            print(
                String(
                    format: "a write before each search, the agent alone: ranking p50 %.3f ms, p95 %.3f ms "
                        + "(%d of %d from memory); write p50 %.3f ms",
                    afterWrites.search.median_ms, afterWrites.search.p95_ms, afterWrites.fromMemory, queries,
                    afterWrites.write.median_ms))
            print(String(format: "ratio p50 (%d agents / alone, full-text index): %.2f", agents, ratio))
            print(
                String(
                    format: "ratio p50 (postings in memory / FTS5, the agent alone): %.3f",
                    aloneMemory.timing.median_ms / max(aloneFigures.timing.median_ms, 1e-9)))
            print(
                String(
                    format: "loading the agent's postings into memory: %.1f ms (%d agents), %.1f ms (alone)",
                    manyMemory?.loadMs ?? .nan, agents, aloneMemory.loadMs ?? .nan))
            print("the same rankings, ids and scores, from FTS5 and from memory: \(same ? "yes" : "NO")")
        }
    }

    /// How a timed SQLite store ranks.
    enum Ranking {
        /// FTS5 alone (no postings kept in memory).
        case fts5
        /// The agent's postings loaded into memory before the timing.
        case memory
    }

    /// Fills a store once: episodes with a (constant) fast vector, so that no model is needed.
    static func build(_ location: String, agents: Int, perAgent: Int, texts: [String], onlyAgent: Int?) async throws {
        let column = VectorColumn(name: VectorColumn.defaultFastName, role: .fast, dimension: 8, modelID: "none")
        let memory =
            try await StoreLocation(location).exists()
            ? try await EpisodicMemory.open(location) : try await EpisodicMemory.create(location, columns: [column])
        let expected = onlyAgent == nil ? agents * perAgent : perAgent
        let present = try await memory.stats().episodes
        defer { Task { await memory.close() } }
        guard present < expected else { return }
        let progress = ProgressReporter(
            "building \(location.hasPrefix("postgres") ? "postgres store" : URL(fileURLWithPath: location).lastPathComponent)",
            total: expected)
        let vector = [Float](repeating: 0.125, count: 8)
        let agentRange = onlyAgent.map { $0...$0 } ?? 0...(agents - 1)
        var done = 0
        for agent in agentRange {
            let episodes = (0..<perAgent).map { i in
                NewEpisode(
                    Episode(id: "e\(i)", agentID: "agent-\(agent)", content: texts[agent * perAgent + i]),
                    vectors: [VectorColumn.defaultFastName: vector])
            }
            if done >= present { try await memory.add(episodes, quality: .deferred) }
            done += perAgent
            progress.update(done)
        }
        progress.finish()
    }

    /// Whether two rankings of every query are equal: the same ids, in order, with the same scores.
    static func sameRankings(_ a: [[(id: String, score: Double)]], _ b: [[(id: String, score: Double)]]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in x.map(\.id) == y.map(\.id) && x.map(\.score) == y.map(\.score) }
    }

    /// What ``time(_:agent:queries:ranking:)`` measured.
    struct Figures {
        /// The library's lexical search: the ranking, then the rows of the ranked ids.
        var timing: TimingSummary
        /// The store's ranking alone.
        var rankedOnly: TimingSummary
        /// Each query's ranking.
        var results: [[(id: String, score: Double)]]
        /// Loading the agent's postings into memory, when timed.
        var loadMs: Double?
    }

    /// What ``timeAfterWrites(_:agent:queries:texts:)`` measured.
    struct WriteThenSearch {
        /// The store's ranking, each right after a write into the agent.
        var search: TimingSummary
        /// The writes (one episode each, vectors given, quality deferred).
        var write: TimingSummary
        /// Searches ranked from the postings in memory.
        var fromMemory: Int
    }

    /// Times, on a copy of the SQLite store at `location` (left as it was), one write of an episode
    /// into `agent` and then the store's ranking of a query, for each of `queries`, with the agent's
    /// postings loaded in memory first.
    static func timeAfterWrites(_ location: String, agent: String, queries: [String], texts: [String]) async throws
        -> WriteThenSearch
    {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("episodic-bench-lexical-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: copy) }
        let path = copy.appendingPathComponent("store.sqlite").path
        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: location + suffix) {
            try FileManager.default.copyItem(atPath: location + suffix, toPath: path + suffix)
        }
        let memory = try await EpisodicMemory.open(path)
        defer { Task { await memory.close() } }
        guard let store = memory.store as? SQLiteEpisodeStore, try await store.loadLexicalPostings(agentID: agent) else {
            throw ValidationError("the postings of \(agent) exceed the memory budget")
        }
        let vector = [Float](repeating: 0.125, count: 8)
        var searches: [Double] = []
        var writes: [Double] = []
        let servedBefore = store.lexicalMemoryStatistics.searches
        for (i, q) in queries.enumerated() {
            let episode = NewEpisode(
                Episode(id: "written-\(i)", agentID: agent, content: texts[i % texts.count]),
                vectors: [VectorColumn.defaultFastName: vector])
            var start = DispatchTime.now().uptimeNanoseconds
            try await memory.add([episode], quality: .deferred)
            writes.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            start = DispatchTime.now().uptimeNanoseconds
            _ = try await store.lexicalSearch(query: q, topK: 100, agentID: agent, filter: nil)
            searches.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return WriteThenSearch(
            search: TimingSummary(milliseconds: searches), write: TimingSummary(milliseconds: writes),
            fromMemory: store.lexicalMemoryStatistics.searches - servedBefore)
    }

    /// Times `queries` within `agent`.
    static func time(_ location: String, agent: String, queries: [String], ranking: Ranking) async throws -> Figures {
        var configuration = EpisodicMemory.Configuration()
        if ranking == .fts5 { configuration.lexicalMemoryBytes = 0 }
        let memory = try await EpisodicMemory.open(location, configuration: configuration)
        defer { Task { await memory.close() } }
        var loadMs: Double?
        if ranking == .memory, let store = memory.store as? SQLiteEpisodeStore {
            let start = DispatchTime.now().uptimeNanoseconds
            guard try await store.loadLexicalPostings(agentID: agent) else {
                throw ValidationError("the postings of \(agent) exceed the memory budget")
            }
            loadMs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        }
        for q in queries.prefix(10) { _ = try await memory.lexicalSearch(agentID: agent, query: q, topK: 100) }
        var times: [Double] = []
        var results: [[(id: String, score: Double)]] = []
        for q in queries {
            let start = DispatchTime.now().uptimeNanoseconds
            let hits = try await memory.lexicalSearch(agentID: agent, query: q, topK: 100)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            results.append(hits.map { ($0.episode.id, $0.score) })
        }
        var ranked: [Double] = []
        for q in queries {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try await memory.store.lexicalSearch(query: q, topK: 100, agentID: agent, filter: nil)
            ranked.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return Figures(
            timing: TimingSummary(milliseconds: times), rankedOnly: TimingSummary(milliseconds: ranked), results: results, loadMs: loadMs)
    }
}
