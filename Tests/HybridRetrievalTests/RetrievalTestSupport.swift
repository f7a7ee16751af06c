import EpisodeStore
import Foundation
@testable import HybridRetrieval
import TextEmbedding
import VectorSearch

/// Paths and fixtures for retrieval tests: all-MiniLM-L6-v2 as the fast model and the tiny
/// 1024-dim BERT fixture as the quality model (real code paths, fast to run).
enum Fixtures {
    static var models: URL {
        ProcessInfo.processInfo.environment["EPISODIC_MODELS"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/episodic/models")
    }
    static var shared: URL {
        ProcessInfo.processInfo.environment["EPISODIC_SHARED"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
    }
    static var miniLM: URL { models.appendingPathComponent("all-MiniLM-L6-v2") }
    static var tinyBert: URL { shared.appendingPathComponent("fixtures/tiny-bert-cls-1024") }

    static let episodes = [
        "Booked a flight to Lisbon for Friday at 9am with TAP Air Portugal.",
        "Alice prefers vegetarian restaurants and dislikes loud places.",
        "Deployment of version 2.4.1 failed because the database migration timed out.",
        "The user asked to move the weekly design sync from Tuesday to Thursday.",
        "Refund policy: orders can be returned within 30 days of delivery.",
        "Bob's dog Biscuit is allergic to chicken; recommend salmon-based food.",
        "Reminder set to call mom tomorrow at 6pm.",
        "The cache key ignored the locale, so German users saw English descriptions.",
        "Invoice #4471 from Acme Corp was paid on March 3rd.",
        "Hotel in Lisbon booked near Alfama for three nights.",
        "The user's favorite programming language is Swift.",
        "Meeting notes: Q3 OKRs drafted and shared in #leadership.",
    ]
}

/// A temporary store with a MiniLM fast column and a tiny-BERT quality column.
struct RetrievalFixture {
    let directory: URL
    let store: SQLiteEpisodeStore
    let service: EmbeddingService

    init(qualityDirectory: URL? = nil, qualityMode: QualityEmbeddingMode = .synchronous, cacheCapacity: Int = 1000) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("episodic-retrieval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let fast = VectorColumn(name: "vector_fastembed", role: .fast, dimension: 384, modelID: "sentence-transformers/all-MiniLM-L6-v2",
                                modelSHA256: try ModelFingerprint.sha256(ofModelIn: Fixtures.miniLM))
        let quality = VectorColumn(name: "vector", role: .quality, dimension: 1024, modelID: "tiny-bert-cls-1024")
        store = try SQLiteEpisodeStore(path: directory.appendingPathComponent("m.sqlite").path,
                                       configuration: .init(columns: [fast, quality], createIfMissing: true))
        service = try EmbeddingService(store: store, configuration: .init(
            modelsRoot: Fixtures.models, cacheCapacity: cacheCapacity, qualityMode: qualityMode,
            fastModelDirectory: Fixtures.miniLM, qualityModelDirectory: qualityDirectory ?? Fixtures.tinyBert))
    }

    func cleanup() { try? FileManager.default.removeItem(at: directory) }

    /// Adds the sample episodes for `agent` (ids `agent-0` …).
    func addSamples(agent: String = "agent") throws {
        try service.add(Fixtures.episodes.enumerated().map { Episode(id: "\(agent)-\($0.offset)", agentID: agent, content: $0.element) })
    }
}
