import ArgumentParser
import CommandSupport
import EpisodicMemory
import Foundation

/// `episodic embed`: JSON lines of texts in, JSON lines of vectors out.
struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed JSON lines {\"id\": …, \"text\": …} from stdin; print {\"id\": …, \"embedding\": […]} lines.",
        discussion: """
            Every line is checked before anything is embedded: a bad line is reported with its number \
            and nothing is printed (exit status 65).

            Example:
              printf '{"id": 1, "text": "booked a flight"}\\n{"id": "b", "text": "paid"}\\n' | episodic embed --query
            """)

    @Option(help: "Model directory, or the name of one under $EPISODIC_MODELS (default: all-MiniLM-L6-v2).")
    var model: String?

    @Flag(help: "Embed as queries (adds the model's query prompt, e.g. bge's instruction).")
    var query = false

    @Option(help: "Texts per forward pass.")
    var batchSize = 32

    @Option(help: "Threads for matrix products and attention.")
    var threads = 1

    @OptionGroup var compute: PrecisionOptions

    func run() async throws {
        try await reportingFailures {
            let lines = try Self.readRequests(from: FileHandle.standardInput.readDataToEndOfFile())
            let embedder = try SentenceEmbedder(directory: Self.modelDirectory(model), options: .init(threads: threads, precision: compute.effectivePrecision))
            let out = FileHandle.standardOutput
            var start = 0
            while start < lines.count {
                let chunk = lines[start..<min(lines.count, start + max(1, batchSize))]
                let vectors = try embedder.embed(chunk.map(\.text), as: query ? .query : .passage)
                var text = ""
                for (request, vector) in zip(chunk, vectors) {
                    text += "{\"id\":\(request.idJSON),\"embedding\":[\(vector.map { "\($0)" }.joined(separator: ","))]}\n"
                }
                out.write(Data(text.utf8))
                start += chunk.count
            }
        }
    }

    /// `--model`: a path, or a model name under the models folder (default all-MiniLM-L6-v2).
    static func modelDirectory(_ argument: String?) -> URL {
        guard let argument else { return ModelsFolder.directory(of: ModelCatalog.defaultFast.id) }
        if FileManager.default.fileExists(atPath: argument) { return URL(fileURLWithPath: argument) }
        return ModelsFolder.directory(of: argument)
    }

    struct Request {
        var idJSON: String
        var text: String
    }

    /// Parses and validates every line; reports all bad lines (up to 20) at once.
    static func readRequests(from data: Data) throws -> [Request] {
        var requests: [Request] = []
        var problems: [String] = []
        for (index, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            guard String(validating: line, as: UTF8.self) != nil else {
                problems.append("line \(number): not valid UTF-8"); continue
            }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] else {
                problems.append("line \(number): not a JSON object"); continue
            }
            guard let text = object["text"] as? String else {
                problems.append("line \(number): \"text\" is missing or not a string"); continue
            }
            guard let id = object["id"], !(id is NSNull) else {
                problems.append("line \(number): \"id\" is missing"); continue
            }
            guard let idData = try? JSONSerialization.data(withJSONObject: id, options: [.fragmentsAllowed]) else {
                problems.append("line \(number): \"id\" cannot be written back as JSON"); continue
            }
            requests.append(Request(idJSON: String(decoding: idData, as: UTF8.self), text: text))
        }
        if !problems.isEmpty {
            let shown = problems.prefix(20).joined(separator: "\n  ")
            let more = problems.count > 20 ? "\n  … and \(problems.count - 20) more" : ""
            throw Failure(
                message: "\(problems.count) bad input line(s), nothing embedded:\n  \(shown)\(more)",
                status: ExitStatus.dataError)
        }
        return requests
    }
}
