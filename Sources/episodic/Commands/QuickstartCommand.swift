import ArgumentParser
import Foundation
import TextEmbedding

/// `episodic quickstart`: the README's first command — shows the engine working end to end.
struct QuickstartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quickstart",
        abstract: "Embed a few agent episodes and a query with the bundled model and print their similarities.",
        discussion: """
        Example:
          episodic quickstart
        """)

    @Option(help: "Model directory or name under $EPISODIC_MODELS (default: all-MiniLM-L6-v2).")
    var model: String?

    static let episodes = [
        "User asked to move the weekly design sync from Tuesday to Thursday at 3pm.",
        "Agent found the refund policy: orders can be returned within 30 days.",
        "Deployment of v2.4.1 failed because the database migration timed out; rolled back.",
        "Alice prefers vegetarian restaurants and books tables for four on Friday evenings.",
    ]
    static let query = "when is the meeting with the design team?"

    func run() async throws {
        try await reportingFailures {
            let loadStart = Date()
            let embedder = try SentenceEmbedder(directory: ModelLocation.resolve(model))
            let loadMs = Date().timeIntervalSince(loadStart) * 1000
            var vectors: [[Float]] = []
            let embedMs = try measureMilliseconds { vectors = try embedder.embed(Self.episodes) }
            var queryVector: [Float] = []
            let queryMs = try measureMilliseconds { queryVector = try embedder.embed(Self.query, as: .query) }
            print("model \(embedder.name): \(embedder.dimension) dimensions, loaded in \(String(format: "%.0f", loadMs)) ms")
            print("embedded \(Self.episodes.count) episodes in \(String(format: "%.1f", embedMs)) ms, the query in \(String(format: "%.1f", queryMs)) ms\n")
            print("query: \(Self.query)")
            let ranked = vectors.enumerated()
                .map { (index: $0.offset, score: zip($0.element, queryVector).reduce(Float(0)) { $0 + $1.0 * $1.1 }) }
                .sorted { $0.score > $1.score }
            for (rank, hit) in ranked.enumerated() {
                print(String(format: "%d. %.3f  %@", rank + 1, hit.score, Self.episodes[hit.index]))
            }
            print("\ncosine similarity between episodes:")
            for (i, a) in vectors.enumerated() {
                let row = vectors.map { b in String(format: "%6.3f", zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }) }
                print("  e\(i + 1) " + row.joined(separator: " "))
            }
        }
    }
}
