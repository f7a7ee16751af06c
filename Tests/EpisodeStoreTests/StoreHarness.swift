import Foundation
import PostgresEpisodeStore
import TestSupport
import VectorSearch

@testable import EpisodeStore

/// The backends every conformance test runs on.

/// A fresh, empty store of one backend, with the test columns (fast 8-d, quality 12-d).
struct StoreHarness {
    let backend: Backend
    let store: any EpisodeStoreBackend
    let directory: TemporaryDirectory
    /// How to open the same store again (a second process would).
    let reopen: @Sendable () async throws -> any EpisodeStoreBackend
    /// The PostgreSQL schema of the store, dropped on cleanup.
    var schema: String? = nil

    static let fast = VectorColumn(name: "vector_fastembed", role: .fast, dimension: 8, modelID: "test-fast", modelSHA256: "aa")
    static let quality = VectorColumn(name: "vector", role: .quality, dimension: 12, modelID: "test-quality", modelSHA256: "bb")

    static func make(_ backend: Backend, columns: [VectorColumn] = [fast, quality], limits: EpisodeLimits = .init()) async throws
        -> StoreHarness
    {
        let directory = try TemporaryDirectory("episodic-store")
        switch backend {
        case .sqlite:
            let path = directory.path("memory.sqlite")
            let store = try SQLiteEpisodeStore(path: path, configuration: .init(columns: columns, createIfMissing: true, limits: limits))
            return StoreHarness(backend: backend, store: store, directory: directory) {
                try SQLiteEpisodeStore(path: path, configuration: .init(limits: limits))
            }
        case .postgres:
            // A small exact-scan limit, so that the HNSW path is exercised by the same tests.
            let (url, schema) = try PostgresTestDatabase.url(["exact_scan_limit": "500"])
            let store = try await PostgresEpisodeStore.open(
                url: url, configuration: .init(columns: columns, createIfMissing: true, limits: limits))
            var harness = StoreHarness(backend: backend, store: store, directory: directory) {
                try await PostgresEpisodeStore.open(url: url, configuration: .init(limits: limits))
            }
            harness.schema = schema
            return harness
        }
    }

    func cleanup() async {
        await store.close()
        if let schema { await PostgresTestDatabase.drop(schema: schema) }
        directory.remove()
    }
}

/// A SQLite store in a temporary directory (for the SQLite-specific tests).
struct TemporaryStore {
    let directory: TemporaryDirectory
    var path: String { directory.path("memory.sqlite") }

    init() throws { directory = try TemporaryDirectory("episodic-sqlite") }

    func cleanup() { directory.remove() }

    func open(
        columns: [VectorColumn] = [StoreHarness.fast, StoreHarness.quality], create: Bool = true,
        readOnly: Bool = false
    ) throws -> SQLiteEpisodeStore {
        try SQLiteEpisodeStore(path: path, configuration: .init(columns: columns, createIfMissing: create, readOnly: readOnly))
    }
}

/// The bytes of a store on disk (the file and its WAL; a missing WAL reads as empty), to prove
/// that a refusal wrote nothing.
func fileBytes(_ path: String) -> [Data] {
    ["", "-wal"].map { FileManager.default.contents(atPath: path + $0) ?? Data() }
}

func vector(_ value: Float, _ dimension: Int) -> [Float] { [Float](repeating: value, count: dimension) }
