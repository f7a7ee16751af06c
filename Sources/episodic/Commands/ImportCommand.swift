import ArgumentParser
import EpisodeStore
import Foundation
import HybridRetrieval
import TextEmbedding
import VectorSearch

/// `episodic import FILE.jsonl`: bulk load, one episode per line.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import episodes from JSON lines; fast vectors are computed for lines that do not bring them.",
        discussion: """
        Each line: {"id"?, "agent_id", "content", "summary"?, "metadata"?, "created_at"?, \
        "vectors"?: {"vector_fastembed": [...], "vector": [...]}}. A bad line is reported with its \
        number and nothing of it is stored; the other lines are imported. Episodes are committed \
        in transactions of --batch-size lines: an interrupted import keeps every committed batch \
        and can be rerun after removing the lines already imported (duplicates are reported as bad \
        lines). Exit status 65 when any line was bad.

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
            let store = try store.open()
            ComputeThreads.set(threads)
            var importer = Importer(store: store, batchSize: max(1, batchSize), threads: threads, embedQuality: quality == .sync)
            let total = file == "-" ? nil : Self.countLines(file)
            let progress = ProgressReporter("imported", total: total)
            var lineNumber = 0
            for line in try LineReader(path: file) {
                lineNumber += 1
                if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
                importer.take(line, number: lineNumber)
                if importer.pending.count >= importer.batchSize {
                    try importer.flush()
                    progress.update(importer.imported, note: importer.bad.isEmpty ? "" : "\(importer.bad.count) bad")
                }
            }
            try importer.flush()
            progress.update(importer.imported, note: importer.bad.isEmpty ? "" : "\(importer.bad.count) bad", force: true)
            progress.finish()
            for problem in importer.bad.prefix(50) { printError("line \(problem.line): \(problem.reason)") }
            if importer.bad.count > 50 { printError("… and \(importer.bad.count - 50) more bad lines") }
            print("imported \(importer.imported) episodes into \(store.path)" + (importer.bad.isEmpty ? "" : "; \(importer.bad.count) bad lines skipped"))
            if !importer.bad.isEmpty { throw ExitCode(ExitStatus.dataError) }
        }
    }

    static func countLines(_ path: String) -> Int? {
        guard let reader = try? LineReader(path: path) else { return nil }
        return reader.reduce(0) { count, line in line.isEmpty ? count : count + 1 }
    }
}

/// Accumulates parsed lines and commits them in batches, embedding what is missing.
struct Importer {
    let store: SQLiteEpisodeStore
    let batchSize: Int
    var pending: [(line: Int, item: EpisodeJSON.ImportLine)] = []
    var bad: [(line: Int, reason: String)] = []
    var imported = 0
    private let fastModel: ColumnModel?
    private let qualityModel: ColumnModel?
    private var qualityUnavailable = false
    private var seen = Set<String>()

    init(store: SQLiteEpisodeStore, batchSize: Int, threads: Int, embedQuality: Bool) {
        self.store = store
        self.batchSize = batchSize
        fastModel = store.column(role: .fast).map {
            ColumnModel(column: $0, directory: ColumnModel.directory(for: $0, under: ModelLocation.root), threads: threads)
        }
        qualityModel = embedQuality ? store.column(role: .quality).map {
            ColumnModel(column: $0, directory: ColumnModel.directory(for: $0, under: ModelLocation.root), threads: threads)
        } : nil
    }

    mutating func take(_ line: Data, number: Int) {
        let item: EpisodeJSON.ImportLine
        do {
            item = try EpisodeJSON.parseImportLine(line, columns: store.columns)
        } catch {
            if case .invalid(let reason) = error { bad.append((number, reason)) }
            return
        }
        do {
            try store.validate(item.episode)
        } catch {
            bad.append((number, "\(error)")); return
        }
        guard seen.insert(item.episode.id).inserted else {
            bad.append((number, "id \(item.episode.id) appears earlier in the file")); return
        }
        pending.append((number, item))
    }

    /// Embeds missing fast vectors and commits the pending lines in one transaction.
    mutating func flush() throws {
        guard !pending.isEmpty else { return }
        // Lines whose id is already stored are bad lines, not a failed batch.
        let existing = Set(try store.episodes(ids: pending.map(\.item.episode.id)).map(\.id))
        for entry in pending where existing.contains(entry.item.episode.id) {
            bad.append((entry.line, StoreError.duplicateEpisode(entry.item.episode.id).description))
        }
        pending.removeAll { existing.contains($0.item.episode.id) }
        if let fastModel {
            // The fast vector is required: a fast model that cannot load stops the import.
            try embedMissing(with: fastModel)
        }
        if let qualityModel, !qualityUnavailable {
            do { try embedMissing(with: qualityModel) } catch let error as RetrievalError {
                // The quality vector is optional at import time: warn once, leave the rest for backfill.
                qualityUnavailable = true
                printError("warning: \(error); quality vectors left for `episodic backfill`")
            }
        }
        try store.add(pending.map { ($0.item.episode, $0.item.vectors) })
        imported += pending.count
        pending.removeAll(keepingCapacity: true)
    }

    /// Computes the vectors of `model`'s column that the pending lines do not bring.
    private mutating func embedMissing(with model: ColumnModel) throws {
        let name = model.column.name
        let missing = pending.indices.filter { pending[$0].item.vectors[name] == nil }
        guard !missing.isEmpty else { return }
        let vectors = try model.embedder().embed(missing.map { pending[$0].item.episode.embeddedText }, as: .passage)
        for (index, vector) in zip(missing, vectors) { pending[index].item.vectors[name] = vector }
    }
}
