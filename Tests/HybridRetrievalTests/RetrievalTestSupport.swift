import EpisodeStore
import Foundation
import TestSupport
import TextEmbedding
import VectorSearch

@testable import HybridRetrieval

/// A temporary store with an all-MiniLM-L6-v2 fast column and a tiny-BERT (1024-d) quality
/// column: real models on every code path, fast to run.
struct RetrievalFixture {
    let directory: TemporaryDirectory
    let store: SQLiteEpisodeStore
    let service: EmbeddingService
    var retriever: HybridRetriever { HybridRetriever(service: service) }

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

    static var fastColumn: VectorColumn {
        VectorColumn(
            name: "vector_fastembed", role: .fast, dimension: 384, modelID: "sentence-transformers/all-MiniLM-L6-v2",
            modelSHA256: (try? ModelFingerprint.sha256(ofModelIn: Fixtures.miniLM)) ?? "")
    }
    static let qualityColumn = VectorColumn(name: "vector", role: .quality, dimension: 1024, modelID: "tiny-bert-cls-1024")

    init(qualityDirectory: URL? = nil, qualityMode: QualityEmbeddingMode = .synchronous, cacheCapacity: Int = 1000) throws {
        directory = try TemporaryDirectory("episodic-retrieval")
        store = try SQLiteEpisodeStore(
            path: directory.path("m.sqlite"),
            configuration: .init(columns: [Self.fastColumn, Self.qualityColumn], createIfMissing: true))
        service = try Self.service(store, qualityDirectory: qualityDirectory, qualityMode: qualityMode, cacheCapacity: cacheCapacity)
    }

    static func service(
        _ store: SQLiteEpisodeStore, qualityDirectory: URL? = nil, qualityMode: QualityEmbeddingMode = .synchronous,
        cacheCapacity: Int = 1000, fastDirectory: URL? = nil
    ) throws -> EmbeddingService {
        try EmbeddingService(
            store: store,
            configuration: .init(
                cacheCapacity: cacheCapacity, qualityMode: qualityMode,
                fastModelDirectory: fastDirectory ?? Fixtures.miniLM, qualityModelDirectory: qualityDirectory ?? Fixtures.tinyBert))
    }

    func cleanup() { directory.remove() }

    /// Adds the sample episodes for `agent` (ids `agent-0` …).
    func addSamples(agent: String = "agent") async throws {
        try await service.add(
            Self.episodes.enumerated().map { NewEpisode(Episode(id: "\(agent)-\($0.offset)", agentID: agent, content: $0.element)) })
    }

    /// The stored vector of one episode.
    func vector(_ column: String, _ agent: String, _ id: String) async throws -> [Float]? {
        try await store.vectors(column: column, agentID: agent, episodeIDs: [id])[id]
    }
}
