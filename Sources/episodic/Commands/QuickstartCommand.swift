import ArgumentParser
import CommandSupport
import EpisodicMemory
import EpisodicWire
import Foundation

/// `episodic quickstart`: the README's main job — a working memory in one command.
struct QuickstartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quickstart",
        abstract: "Create ./episodic.sqlite from sample agent episodes and run a few hybrid retrievals.",
        discussion: """
            Imports the sample memory shipped with the tool (289 episodes of five agents: a personal \
            assistant, a devops agent, a support bot, a travel planner, a research assistant) with \
            both embeddings, then asks each agent a question and prints its best three episodes: how \
            similar each is to the question (cosine of the quality embeddings, 1 = same meaning) and \
            where each stage ranked it. Rerunning reuses the store.

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
            let memory = try await store.open(create: true) { $0.threads = threads }
            let samples = try Self.sampleEpisodes()
            var missing: [Episode] = []
            for (agent, episodes) in Dictionary(grouping: samples, by: \.agentID) {
                let present = try await memory.existingIDs(agentID: agent, among: episodes.map(\.id))
                missing += episodes.filter { !present.contains($0.id) }
            }
            if !missing.isEmpty {
                let progress = ProgressReporter("importing sample episodes", total: missing.count)
                var done = 0
                for start in stride(from: 0, to: missing.count, by: 32) {
                    let batch = Array(missing[start..<min(missing.count, start + 32)])
                    try await memory.add(batch)
                    done += batch.count
                    progress.update(done)
                }
                progress.finish()
            }
            let counts = try await memory.agentEpisodeCounts()
            print(
                "memory \(memory.location): \(counts.values.reduce(0, +)) episodes of \(counts.count) agents; "
                    + memory.columns.map { "\($0.name) \($0.dimension)-d (\($0.modelID))" }.joined(separator: ", "))
            for (agent, query) in Self.questions {
                let response = try await memory.retrieve(agentID: agent, query: query, options: .init(limit: 3, timeBudgetMs: nil))
                print("\n\(agent) was asked: \"\(query)\"")
                if let reason = response.fallbackReason { print("  (quality stage unavailable: \(reason))") }
                for (rank, r) in response.results.enumerated() {
                    print("  \(rank + 1). \(r.episode.embeddedText)")
                    print("     " + Self.explanation(r))
                }
                let t = response.timings
                print(
                    String(
                        format: "  answered in %.0f ms (query embeddings %.0f, candidates %.0f, rerank %.0f)",
                        t.totalMs, t.queryEmbeddingMs, t.coarseMs, t.rerankMs))
            }
            print(
                """

                Next: episodic --db \(memory.location) serve      (HTTP API on 127.0.0.1:8080, see README)
                      episodic --db \(memory.location) retrieve --agent travel-planner --query "hotel in Lisbon"
                """)
            await memory.close()
        }
    }

    /// One line a person can read: the similarity, and which stage ranked the episode where.
    static func explanation(_ r: RetrievedEpisode) -> String {
        var parts: [String] = []
        if let quality = r.rerankScore {
            parts.append(String(format: "similarity %.2f", quality))
        } else if let dense = r.denseScore {
            parts.append(String(format: "similarity %.2f (fast model)", dense))
        }
        var found: [String] = []
        if let rank = r.ranks.quality { found.append("#\(rank) by meaning") }
        if let rank = r.ranks.lexical { found.append("#\(rank) by words") }
        if let rank = r.ranks.dense { found.append("#\(rank) by the fast model") }
        if !found.isEmpty { parts.append("ranked " + found.joined(separator: ", ")) }
        return parts.joined(separator: " · ")
    }

    /// The sample memory shipped with the tool.
    static func sampleEpisodes() throws -> [Episode] {
        guard let url = Bundle.module.url(forResource: "sample_episodes", withExtension: "jsonl"),
            let reader = try? LineReader(path: url.path)
        else {
            throw Failure(
                message: "sample_episodes.jsonl is missing from the tool's resources; rebuild the package",
                status: ExitStatus.noInput)
        }
        return try reader.enumerated().map { index, line in
            do {
                return try EpisodeWire.episode(from: try WireObject.parse(line, context: "line \(index + 1)"), agentID: nil).episode
            } catch {
                throw Failure(message: "sample_episodes.jsonl line \(index + 1) is invalid: \(error)", status: ExitStatus.dataError)
            }
        }
    }
}
