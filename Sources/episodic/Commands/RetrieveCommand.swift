import ArgumentParser
import CommandSupport
import EpisodicMemory
import EpisodicWire
import Foundation

/// `episodic retrieve`: two-stage retrieval from the command line.
struct RetrieveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retrieve",
        abstract: "Retrieve an agent's episodes for a query (hybrid by default, --baseline for fast vectors only).",
        discussion: """
            Hybrid: dense (fast vectors) and BM25 candidates fused, then reranked with the quality \
            vectors; without a usable quality model the coarse ranking is returned, tagged \
            coarse_fallback, with the reason. Per-stage timings are printed.

            Examples:
              episodic retrieve --agent planner --query "when is the flight to Lisbon?"
              episodic retrieve --agent planner --query "invoice" --baseline --json
              episodic retrieve --agent planner --query "flights" --filter '{"metadata": {"status": {"in": ["open", "done"]}}}'
              episodic retrieve --agent planner --query "what did I book?" --recency-half-life 7d
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: "The agent whose memory is searched.")
    var agent: String

    @Option(help: "The query.")
    var query: String

    @Flag(help: "Fast-vector search only (the A/B baseline).")
    var baseline = false

    @Option(help: "Results to print.")
    var topK = 10

    @Option(help: "Coarse candidates per retriever.")
    var coarseTopK = 100

    @Option(help: "Candidates reranked with the quality vectors.")
    var rerankTopK = 50

    @Flag(help: "Skip the quality rerank.")
    var noRerank = false

    @Flag(help: "Skip BM25 in the coarse stage.")
    var noLexical = false

    @Option(help: "Threads per model.")
    var threads = 1

    @Flag(help: "Print JSON.")
    var json = false

    @Option(help: "Only episodes passing this filter (JSON, e.g. '{\"metadata\": {\"tool\": \"flights\"}}').")
    var filter: String?

    @Option(help: "Prefer recent episodes: a half-life such as 36h or 7d.")
    var recencyHalfLife: String?

    func run() async throws {
        try await reportingFailures {
            // Not read-only: quality vectors missing for candidates are computed and stored.
            let parsedFilter = try filter.map { try FilterWire.filter(text: $0, context: "--filter") }
            let halfLife = try recencyHalfLife.map { try FilterWire.duration(.string($0), field: "--recency-half-life") }
            let memory = try await store.open { $0.threads = threads }
            let response: RetrievalResponse
            if baseline {
                response = try await memory.retrieveBaseline(agentID: agent, query: query, topK: topK, filter: parsedFilter)
            } else {
                // No time budget on the command line: the models load during this one call.
                var options = RetrievalOptions(
                    coarseTopK: coarseTopK, rerankTopK: rerankTopK, useReranking: !noRerank,
                    lexical: !noLexical, limit: topK, timeBudgetMs: nil)
                options.filter = parsedFilter
                options.recencyHalfLife = halfLife
                response = try await memory.retrieve(agentID: agent, query: query, options: options)
            }
            await memory.close()
            if json {
                print(RetrievalWire.json(response, agentID: agent, query: query))
                return
            }
            let t = response.timings
            print(
                String(
                    format: "%d results in %.1f ms (query embedding %.1f, coarse %.1f, rerank %.1f)",
                    response.results.count, t.totalMs, t.queryEmbeddingMs, t.coarseMs, t.rerankMs))
            if let reason = response.fallbackReason { print("coarse fallback: \(reason)") }
            for (rank, r) in response.results.enumerated() {
                let text = r.episode.embeddedText.replacingOccurrences(of: "\n", with: " ")
                print(String(format: "%2d. %.4f  ", rank + 1, r.finalScore) + "[\(r.stage.rawValue)] \(text.prefix(90))")
            }
        }
    }
}
