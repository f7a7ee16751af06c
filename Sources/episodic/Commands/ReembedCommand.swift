import ArgumentParser
import CommandSupport
import EpisodicMemory
import Foundation

/// `episodic reembed`: replaces a column's model, recomputing every vector.
struct ReembedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reembed",
        abstract: "Re-embed one vector column with another model (resumable), then switch the column to it.",
        discussion: """
            The new vectors go to a staging column, a batch per transaction; searches keep using the \
            old vectors until every episode has its new one, and then the column's vectors, model id, \
            sha256 and dimension change in one transaction. Interrupt it (Ctrl-C) and run the same \
            command again to resume; --cancel drops the staging vectors. Restart servers using the \
            store afterwards (their writes to the old column are refused).

            Examples:
              episodic --db memory.sqlite reembed --column quality --model bge-large-en-v1.5
              episodic --db memory.sqlite reembed --column vector --model-dir ~/models/my-finetune
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: "The column: fast, quality, or its name.")
    var column: String

    @Option(help: "The new model: a catalog name or Hugging Face id, installed under $EPISODIC_MODELS.")
    var model: String?

    @Option(help: "The new model's directory (instead of --model).")
    var modelDir: String?

    @Option(help: "Episodes per transaction.")
    var batchSize = 64

    @Option(help: "Threads of the model.")
    var threads = 1

    @Flag(help: "Drop the staging vectors of an unfinished re-embedding.")
    var cancel = false

    func validate() throws {
        if !cancel && (model == nil) == (modelDir == nil) { throw ValidationError("give exactly one of --model and --model-dir") }
    }

    func run() async throws {
        try await reportingFailures {
            let memory = try await store.open { $0.threads = threads }
            let role: VectorRole
            switch column {
            case "fast": role = .fast
            case "quality": role = .quality
            default:
                guard let named = memory.columns.first(where: { $0.name == column }) else {
                    throw StoreError.vector(.unknownColumn(column))
                }
                role = named.role
            }
            guard let target = memory.column(role: role) else { throw RetrievalError.noColumn(role: role.rawValue) }
            if cancel {
                try await memory.cancelReembedding(role: role)
                print("\(target.name): staging vectors dropped; the column is unchanged")
                return
            }
            let total = try await memory.stats().episodes
            let progress = ProgressReporter("re-embedding \(target.name)", total: total)
            let directory = modelDir.map { URL(fileURLWithPath: $0) }
            let done = try await memory.reembed(
                role: role, model: model ?? directory!.lastPathComponent, directory: directory,
                batchSize: max(1, batchSize)
            ) { done, _ in progress.update(done) }
            progress.finish()
            await memory.close()
            let reopened = try await store.open(readOnly: true)
            let now = reopened.column(role: role) ?? target
            print("\(target.name): \(done) vectors computed this run; now \(now.dimension)-dimensional \(now.modelID)")
        }
    }
}
