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
            let manyFigures = try await Self.time(many, agent: target, queries: questions)
            let aloneFigures = try await Self.time(alone, agent: target, queries: questions)
            let ratio = manyFigures.median_ms / max(aloneFigures.median_ms, 1e-9)
            if json {
                print(
                    JSONText.of([
                        "agents": agents, "per_agent": perAgent, "queries": queries,
                        "many_p50_ms": manyFigures.median_ms, "many_p95_ms": manyFigures.p95_ms,
                        "alone_p50_ms": aloneFigures.median_ms, "alone_p95_ms": aloneFigures.p95_ms,
                        "ratio_p50": TimingSummary.round3(ratio),
                    ]))
                return
            }
            print("lexical search within one agent of \(perAgent) episodes, top 100, \(queries) queries")
            print(TextTable.row(["store", "episodes", "p50 ms", "p95 ms"], widths: [-28, 10, 9, 9]))
            print(
                TextTable.row(
                    [
                        "\(agents) agents (\(many.hasPrefix("postgres") ? "postgres" : "sqlite"))", "\(agents * perAgent)",
                        String(format: "%.3f", manyFigures.median_ms), String(format: "%.3f", manyFigures.p95_ms),
                    ], widths: [-28, 10, 9, 9]))
            print(
                TextTable.row(
                    [
                        "the agent alone (sqlite)", "\(perAgent)", String(format: "%.3f", aloneFigures.median_ms),
                        String(format: "%.3f", aloneFigures.p95_ms),
                    ], widths: [-28, 10, 9, 9]))
            print(String(format: "ratio p50 (%d agents / alone): %.2f", agents, ratio))
        }
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

    static func time(_ location: String, agent: String, queries: [String]) async throws -> TimingSummary {
        let memory = try await EpisodicMemory.open(location)
        defer { Task { await memory.close() } }
        for q in queries.prefix(10) { _ = try await memory.lexicalSearch(agentID: agent, query: q, topK: 100) }
        var times: [Double] = []
        for q in queries {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try await memory.lexicalSearch(agentID: agent, query: q, topK: 100)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return TimingSummary(milliseconds: times)
    }
}
