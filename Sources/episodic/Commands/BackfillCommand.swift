import ArgumentParser
import CommandSupport
import EpisodicMemory
import Foundation

/// `episodic backfill`: computes every missing vector.
struct BackfillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backfill",
        abstract: "Compute every missing fast and quality vector, with a progress bar.",
        discussion: """
            Each batch commits on its own and only missing vectors are computed: safe to interrupt \
            (Ctrl-C) and rerun. Exit status 69 when a column's model cannot be loaded.

            Example:
              episodic --db memory.sqlite backfill --threads 2
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: "fast, quality or both.")
    var column = "both"

    @Option(help: "Episodes per transaction.")
    var batchSize = 64

    @Option(help: "Threads per model.")
    var threads = 1

    func run() async throws {
        try await reportingFailures {
            let roles: [VectorRole]
            switch column {
            case "both": roles = [.fast, .quality]
            case "fast": roles = [.fast]
            case "quality": roles = [.quality]
            default: throw Failure(message: "--column takes fast, quality or both", status: ExitStatus.dataError)
            }
            let memory = try await store.open { $0.threads = threads }
            for role in roles {
                guard let target = memory.column(role: role) else { continue }
                let missing = try await memory.missingVectors(role: role)
                if missing == 0 { print("\(target.name): nothing to do"); continue }
                let progress = ProgressReporter("\(target.name)", total: missing)
                let done = try await memory.backfill(role: role, batchSize: max(1, batchSize)) { done, _ in progress.update(done) }
                progress.update(done, force: true)
                progress.finish()
                print("\(target.name): \(done) vectors computed")
            }
            await memory.close()
        }
    }
}
