import ArgumentParser
import CommandSupport
import EpisodicMemory
import EpisodicWire
import Foundation

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
            let memory = try await store.open(readOnly: true)
            var hits: [SearchHit] = []
            let start = DispatchTime.now().uptimeNanoseconds
            if let query {
                hits = try await memory.search(agentID: agent, column: column, query: query, topK: topK)
            } else {
                hits = try await memory.search(agentID: agent, column: column, vector: try readVector(), topK: topK)
            }
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            if json {
                var out = "{\"agent_id\":"
                JSONWriter.writeString(agent, into: &out)
                out += ",\"column\":"
                JSONWriter.writeString(column, into: &out)
                out += ",\"search_ms\":\(ms),\"results\":["
                for (i, hit) in hits.enumerated() {
                    if i > 0 { out += "," }
                    out += "{\"episode_id\":"
                    JSONWriter.writeString(hit.episode.id, into: &out)
                    out += ",\"score\":\(hit.score),\"episode\":"
                    EpisodeWire.write(hit.episode, into: &out)
                    out += "}"
                }
                print(out + "]}")
                return
            }
            print("\(hits.count) results for agent \(agent) by \(column) in \(String(format: "%.2f", ms)) ms")
            for (rank, hit) in hits.enumerated() {
                let text = hit.episode.embeddedText.replacingOccurrences(of: "\n", with: " ")
                print(String(format: "%3d. %.4f  ", rank + 1, hit.score) + "\(hit.episode.id)  \(text.prefix(80))")
            }
        }
    }

    func readVector() throws -> [Float] {
        guard let path = vectorFile, let data = FileManager.default.contents(atPath: path) else {
            throw Failure(message: "cannot read \(vectorFile ?? "")", status: ExitStatus.noInput)
        }
        let numbers = (try? JSONParser().parse(data))?.arrayValue ?? []
        let vector = numbers.compactMap { $0.numberValue.flatMap { Float($0.literal) } }
        guard !numbers.isEmpty, vector.count == numbers.count else {
            throw Failure(message: "\(path) must hold a JSON array of numbers", status: ExitStatus.dataError)
        }
        return vector
    }
}
