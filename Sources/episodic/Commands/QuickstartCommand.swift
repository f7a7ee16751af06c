import ArgumentParser
import EpisodeStore
import Foundation
import HybridRetrieval
import TextEmbedding

/// `episodic quickstart`: the README's main job — a working memory in one command.
struct QuickstartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quickstart",
        abstract: "Create ./episodic.sqlite from sample agent episodes and run a few hybrid retrievals.",
        discussion: """
        Imports the sample memory shipped with the tool (289 episodes of five agents: a personal \
        assistant, a devops agent, a support bot, a travel planner, a research assistant) with \
        both embeddings, then asks each agent a question and prints the results with their stage \
        tags and per-stage timings. Rerunning reuses the store.

        Example:
          episodic quickstart
          episodic --db /tmp/demo.sqlite quickstart --threads 2
        """)

    @OptionGroup var store: StoreOptions

    @Option(help: "Threads per model (default: the machine's cores, at most 4).")
    var threads = min(4, ProcessInfo.processInfo.activeProcessorCount)

    static let questions: [(agent: String, query: String)] = [
        ("personal-assistant", "what kind of restaurants does Alice like?"),
        ("devops-agent", "why did the 2.4.1 deployment fail?"),
        ("support-bot", "can a customer return a jacket after three weeks?"),
        ("travel-planner", "which seat do I have on the flight to Lisbon?"),
        ("research-assistant", "what did reranking do to nDCG in experiment 12?"),
    ]

    func run() async throws {
        try await reportingFailures {
            ComputeThreads.set(threads)
            var configuration = EpisodicMemory.Configuration(modelsRoot: ModelLocation.root)
            configuration.threads = threads
            let memory = try EpisodicMemory.open(path: store.path, configuration: configuration)
            let samples = try Self.sampleEpisodes()
            let present = Set(try memory.store.episodes(ids: samples.map(\.id)).map(\.id))
            let missing = samples.filter { !present.contains($0.id) }
            if !missing.isEmpty {
                let progress = ProgressReporter("importing sample episodes", total: missing.count)
                var done = 0
                for start in stride(from: 0, to: missing.count, by: 32) {
                    let batch = Array(missing[start..<min(missing.count, start + 32)])
                    try memory.add(batch)
                    done += batch.count
                    progress.update(done)
                }
                progress.finish()
            }
            let counts = try memory.store.agentEpisodeCounts()
            print("memory \(store.path): \(counts.values.reduce(0, +)) episodes of \(counts.count) agents; "
                  + memory.store.columns.map { "\($0.name) \($0.dimension)-d (\($0.modelID))" }.joined(separator: ", "))
            for (agent, query) in Self.questions {
                let response = try await memory.retrieve(agentID: agent, query: query, options: .init(limit: 3, timeBudgetMs: nil))
                let t = response.timings
                print("\n[\(agent)] \(query)")
                print(String(format: "  %.1f ms: query embedding %.1f, coarse %.1f (dense %.1f, lexical %.1f), rerank %.1f",
                             t.totalMs, t.queryEmbeddingMs, t.coarseMs, t.denseMs, t.lexicalMs, t.rerankMs))
                if let reason = response.fallbackReason { print("  coarse fallback: \(reason)") }
                for (rank, r) in response.results.enumerated() {
                    print(String(format: "  %d. %.4f ", rank + 1, r.finalScore) + "[\(r.stage.rawValue)] \(r.episode.embeddedText)")
                }
            }
            print("""

            Next: episodic --db \(store.path) serve      (HTTP API on 127.0.0.1:8080, see README)
                  episodic --db \(store.path) retrieve --agent travel-planner --query "hotel in Lisbon"
            """)
            await memory.close()
        }
    }

    /// The sample memory shipped with the tool.
    static func sampleEpisodes() throws -> [Episode] {
        guard let url = Bundle.module.url(forResource: "sample_episodes", withExtension: "jsonl"),
              let reader = try? LineReader(path: url.path) else {
            throw Failure(message: "sample_episodes.jsonl is missing from the tool's resources; rebuild the package",
                          status: ExitStatus.noInput)
        }
        return try reader.enumerated().map { index, line in
            do {
                return try EpisodeJSON.parseImportLine(line, columns: []).episode
            } catch {
                throw Failure(message: "sample_episodes.jsonl line \(index + 1) is invalid", status: ExitStatus.dataError)
            }
        }
    }
}
