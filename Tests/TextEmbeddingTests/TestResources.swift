import Foundation
import Testing
@testable import TextEmbedding

/// Where the tests find the shared reference fixtures and the installed models.
enum TestResources {
    /// The package root (three levels above this file).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared` next to the checkout, or `$EPISODIC_SHARED`.
    static var shared: URL {
        if let path = ProcessInfo.processInfo.environment["EPISODIC_SHARED"] { return URL(fileURLWithPath: path) }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }

    static var fixtures: URL { shared.appendingPathComponent("fixtures") }

    /// The models directory of scripts/setup.sh.
    static var models: URL {
        if let path = ProcessInfo.processInfo.environment["EPISODIC_MODELS"] { return URL(fileURLWithPath: path) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/episodic/models")
    }

    static var miniLM: URL { models.appendingPathComponent("all-MiniLM-L6-v2") }
    static var mpnet: URL { models.appendingPathComponent("all-mpnet-base-v2") }
    static var tinyBert: URL { fixtures.appendingPathComponent("tiny-bert-cls-1024") }

    /// Reads a JSON fixture, failing with a message that says how to get it.
    static func json(_ url: URL) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw FixtureMissing(path: url.path)
        }
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    struct FixtureMissing: Error, CustomStringConvertible {
        var path: String
        var description: String { "fixture \(path) not found — set EPISODIC_SHARED or run scripts/setup.sh for models" }
    }

    /// Loaded once per test process: loading the weights dominates a parity test otherwise.
    static let miniLMModel: Result<SentenceEmbedder, Error> = Result { try SentenceEmbedder(directory: miniLM) }
    static let mpnetModel: Result<SentenceEmbedder, Error> = Result { try SentenceEmbedder(directory: mpnet) }

    /// A fresh temporary directory, removed by the caller.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("episodic-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Cosine similarity of two vectors, in double precision.
func cosine(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count)
    var dot = 0.0, na = 0.0, nb = 0.0
    for i in a.indices {
        dot += Double(a[i]) * Double(b[i]); na += Double(a[i]) * Double(a[i]); nb += Double(b[i]) * Double(b[i])
    }
    return dot / (na.squareRoot() * nb.squareRoot())
}

/// One text of a sentence-transformers reference file.
struct ReferenceText {
    var id: Int
    var category: String
    var text: String
    var inputIDs: [Int32]
    var embedding: [Float]

    static func load(_ url: URL) throws -> [ReferenceText] {
        let root = try TestResources.json(url)
        return (root["texts"] as! [[String: Any]]).map { entry in
            ReferenceText(id: entry["id"] as? Int ?? 0, category: entry["category"] as? String ?? "",
                          text: entry["text"] as! String,
                          inputIDs: (entry["input_ids"] as! [Int]).map(Int32.init),
                          embedding: (entry["embedding"] as! [Double]).map(Float.init))
        }
    }
}
