import ArgumentParser
import CommandSupport
import EpisodicMemory
import EpisodicWire
import Foundation

/// `episodic import FILE.jsonl`: bulk load, one episode per line.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import episodes from JSON lines; vectors are computed for lines that do not bring them.",
        discussion: """
            Each line is an episode as the HTTP API and `export` write it: {"id"?, "agent_id", \
            "content", "summary"?, "metadata"?, "created_at"? (RFC 3339 or Unix seconds), "vectors"?: \
            {"vector_fastembed": [...], "vector": [...]}}; output-only fields of an export (cache \
            flags) are ignored. A bad line is reported with its number and nothing of it is stored; \
            the other lines are imported. Episodes are committed in transactions of --batch-size \
            lines: an interrupted import keeps every committed batch, and a rerun reports the lines \
            already imported as duplicates. Exit status 65 when any line was bad.

            Examples:
              episodic import episodes.jsonl
              cat episodes.jsonl | episodic import -
            """)

    @OptionGroup var store: StoreOptions

    @Argument(help: "The JSON-lines file, or - for standard input.")
    var file: String

    @Option(help: "Episodes per transaction.")
    var batchSize = 500

    @Option(help: "Threads for embedding.")
    var threads = 1

    @Option(help: "Missing quality vectors: sync (computed during the import) or defer (left for backfill).")
    var quality = QualityOption.sync

    func validate() throws { try quality.requireForeground() }

    func run() async throws {
        try await reportingFailures {
            let memory = try await store.open { $0.threads = threads }
            var importer = Importer(memory: memory, batchSize: max(1, batchSize), quality: quality.mode)
            let total = file == "-" ? nil : Self.countLines(file)
            let progress = ProgressReporter("imported", total: total)
            var lineNumber = 0
            for line in try LineReader(path: file) {
                lineNumber += 1
                if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
                importer.take(line, number: lineNumber)
                if importer.pending.count >= importer.batchSize {
                    try await importer.flush()
                    progress.update(importer.imported, note: importer.bad.isEmpty ? "" : "\(importer.bad.count) bad")
                }
            }
            try await importer.flush()
            progress.update(importer.imported, note: importer.bad.isEmpty ? "" : "\(importer.bad.count) bad", force: true)
            progress.finish()
            await memory.close()
            for problem in importer.bad.prefix(50) { printError(problem.message) }
            if importer.bad.count > 50 { printError("… and \(importer.bad.count - 50) more bad lines") }
            print(
                "imported \(importer.imported) episodes into \(memory.location)"
                    + (importer.bad.isEmpty ? "" : "; \(importer.bad.count) bad lines skipped"))
            if !importer.bad.isEmpty { throw ExitCode(ExitStatus.dataError) }
        }
    }

    static func countLines(_ path: String) -> Int? {
        guard let reader = try? LineReader(path: path) else { return nil }
        return reader.reduce(0) { count, line in line.isEmpty ? count : count + 1 }
    }
}

/// Accumulates parsed lines and commits them in batches through the facade.
struct Importer {
    let memory: EpisodicMemory
    let batchSize: Int
    let quality: QualityEmbeddingMode
    var pending: [(line: Int, item: NewEpisode)] = []
    /// Bad lines, each with a message that starts with its line number.
    var bad: [(line: Int, message: String)] = []
    var imported = 0
    private var seen = Set<EpisodeKey>()

    /// Fields an export line carries that an import ignores (the store sets them).
    static let outputOnlyFields: Set<String> = ["embedding_cached", "embedding_cached_at", "fastembed_cached", "fastembed_cached_at"]

    init(memory: EpisodicMemory, batchSize: Int, quality: QualityEmbeddingMode) {
        self.memory = memory
        self.batchSize = batchSize
        self.quality = quality
    }

    mutating func take(_ line: Data, number: Int) {
        let item: NewEpisode
        do {
            let context = "line \(number)"
            let object = try WireObject.parse(line, context: context)
            let input = try WireObject(.object(object.fields.filter { !Self.outputOnlyFields.contains($0.key) }), context: context)
            var parsed = try EpisodeWire.episode(from: input, agentID: nil)
            // An import reports ids already present as bad lines instead of matching them.
            parsed.idempotent = false
            item = parsed
        } catch {
            // Wire errors name their line already.
            bad.append((number, error.message))
            return
        }
        do {
            try memory.validate(item)
        } catch {
            bad.append((number, "line \(number): \(error)"))
            return
        }
        guard seen.insert(EpisodeKey(item.episode)).inserted else {
            bad.append((number, "line \(number): id \(item.episode.id) of agent \(item.episode.agentID) appears earlier in the file"));
            return
        }
        pending.append((number, item))
    }

    /// Commits the pending lines in one transaction (vectors computed as needed).
    mutating func flush() async throws {
        guard !pending.isEmpty else { return }
        // Lines whose id the agent already has are bad lines, not a failed batch.
        var existing = Set<EpisodeKey>()
        for (agent, entries) in Dictionary(grouping: pending, by: \.item.episode.agentID) {
            for id in try await memory.existingIDs(agentID: agent, among: entries.map(\.item.episode.id)) {
                existing.insert(EpisodeKey(agentID: agent, episodeID: id))
            }
        }
        for entry in pending where existing.contains(EpisodeKey(entry.item.episode)) {
            bad.append((entry.line, "line \(entry.line): \(StoreError.duplicateEpisode(entry.item.episode.id))"))
        }
        pending.removeAll { existing.contains(EpisodeKey($0.item.episode)) }
        try await memory.add(pending.map(\.item), quality: quality)
        imported += pending.count
        pending.removeAll(keepingCapacity: true)
    }
}
