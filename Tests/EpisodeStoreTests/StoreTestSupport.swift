import Foundation
import GRDB
@testable import EpisodeStore
import VectorSearch

/// A temporary directory with a store path inside; removed on `cleanup()`.
struct TemporaryStore {
    let directory: URL
    var path: String { directory.appendingPathComponent("memory.sqlite").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("episodic-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func cleanup() { try? FileManager.default.removeItem(at: directory) }

    static let fast = VectorColumn(name: "vector_fastembed", role: .fast, dimension: 8, modelID: "test-fast", modelSHA256: "aa")
    static let quality = VectorColumn(name: "vector", role: .quality, dimension: 12, modelID: "test-quality", modelSHA256: "bb")

    func open(columns: [VectorColumn] = [fast, quality], create: Bool = true) throws -> SQLiteEpisodeStore {
        try SQLiteEpisodeStore(path: path, configuration: .init(columns: columns, createIfMissing: create))
    }
}

/// Deterministic pseudo-random numbers.
struct SeededRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state
    }
    mutating func unitVector(_ dimension: Int) -> [Float] {
        let v = (0..<dimension).map { _ in Float(Int64(bitPattern: next() >> 11) % 2001 - 1000) / 1000 }
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / max(norm, 1e-6) }
    }
}

/// Brute force: every vector scored with the same float32 dot, sorted by score desc, id asc.
func bruteForce(_ vectors: [(id: String, vector: [Float])], query: [Float], k: Int) -> [String] {
    vectors.map { (id: $0.id, score: VectorKernels.dot($0.vector, query)) }
        .sorted { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
        .prefix(k).map(\.id)
}

func sha256Hex(ofFile path: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: path))
}
