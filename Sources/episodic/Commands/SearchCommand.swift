import ArgumentParser
import EpisodeStore
import Foundation
import HybridRetrieval
import TextEmbedding
import VectorSearch

/// `episodic search`: exact top-k by one vector column within one agent.
struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Top-k episodes of an agent by one vector column (a text query or a vector file).",
        discussion: """
        --query embeds the text with the column's model (as a query); --vector-file reads a JSON \
        array of floats of the column's dimension.

        Examples:
          episodic search --agent planner --query "flight to Lisbon" --top-k 5
          episodic search --agent planner --vector-file q.json --column vector --json
        """)

    @OptionGroup var store: StoreOptions

    @Option(help: "The agent whose episodes are searched.")
    var agent: String

    @Option(help: "A text query.")
    var query: String?

    @Option(help: "A file holding a JSON array of floats.")
    var vectorFile: String?

    @Option(help: "The vector column.")
    var column = VectorColumn.defaultFastName

    @Option(help: "Number of results.")
    var topK = 100

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        guard (query == nil) != (vectorFile == nil) else { throw ValidationError("give exactly one of --query and --vector-file") }
        guard topK > 0 else { throw ValidationError("--top-k must be positive") }
    }

    func run() async throws {
        try await reportingFailures {
            let store = try store.open()
            let target = try store.column(named: column)
            let vector: [Float]
            if let query {
                vector = try ColumnModel(column: target, directory: ColumnModel.directory(for: target, under: ModelLocation.root))
                    .embedder().embed(query, as: .query)
            } else {
                guard let data = FileManager.default.contents(atPath: vectorFile!) else {
                    throw Failure(message: "cannot read \(vectorFile!)", status: ExitStatus.noInput)
                }
                guard let numbers = (try? JSONSerialization.jsonObject(with: data)) as? [NSNumber] else {
                    throw Failure(message: "\(vectorFile!) must hold a JSON array of numbers", status: ExitStatus.dataError)
                }
                vector = numbers.map(\.floatValue)
            }
            var hits: [ScoredEpisode] = []
            let ms = try measureMilliseconds {
                hits = try store.similaritySearch(vector: vector, column: target.name, topK: topK, agentID: agent)
            }
            let episodes = Dictionary(try store.episodes(ids: hits.map(\.episodeID)).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            if json {
                let results = hits.map { hit -> [String: Any] in
                    var o: [String: Any] = ["episode_id": hit.episodeID, "score": Double(hit.score), "column": hit.column]
                    if let e = episodes[hit.episodeID] { o["episode"] = EpisodeJSON.object(e) }
                    return o
                }
                print(EpisodeJSON.string(["agent_id": agent, "column": target.name, "search_ms": ms, "results": results]))
                return
            }
            print("\(hits.count) results for agent \(agent) by \(target.name) in \(String(format: "%.2f", ms)) ms")
            for (rank, hit) in hits.enumerated() {
                let text = episodes[hit.episodeID].map { $0.embeddedText.replacingOccurrences(of: "\n", with: " ") } ?? ""
                print(String(format: "%3d. %.4f  ", rank + 1, hit.score) + "\(hit.episodeID)  \(text.prefix(80))")
            }
        }
    }
}
