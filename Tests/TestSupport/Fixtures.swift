import EpisodicMemory
import Foundation

/// Everything a test reads: the fixtures shipped in this repository (Tests/TestSupport/Fixtures)
/// and the models `scripts/setup.sh` installs. Nothing here reads outside the repository but the
/// models folder.
public enum Fixtures {
    /// The folder of shipped fixtures.
    public static let folder: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    /// A shipped fixture file.
    public static func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    /// The models folder (`$EPISODIC_MODELS`, else ~/.cache/episodic/models).
    public static var models: URL { ModelsFolder.default }

    /// all-MiniLM-L6-v2 as scripts/setup.sh installs it.
    public static var miniLM: URL { models.appendingPathComponent("all-MiniLM-L6-v2") }
    /// all-mpnet-base-v2 as scripts/setup.sh installs it.
    public static var mpnet: URL { models.appendingPathComponent("all-mpnet-base-v2") }

    /// The tiny 1024-hidden BERT (CLS pooling, float16, a query prompt) as a complete model
    /// directory: the shipped configuration, tokenizer and manifest, with weights written from the
    /// manifest's seeds on first use (into a cache folder shared by test processes).
    public static var tinyBert: URL { tinyBertDirectory.value }
    private static let tinyBertDirectory = Lazy { try! materialize("tiny-bert-cls-1024") }

    /// The tiny random cross-encoder (a BertForSequenceClassification with one logit, hidden 64),
    /// weights written from its manifest on first use; `reference.json` beside holds PyTorch's logits.
    public static var tinyCrossEncoder: URL { tinyCrossEncoderDirectory.value }
    private static let tinyCrossEncoderDirectory = Lazy { try! materialize("tiny-cross-encoder") }

    /// Reads a JSON fixture.
    public static func json(_ url: URL) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw Missing(path: url.path) }
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    /// A fixture or model that is not there, with how to get it.
    public struct Missing: Error, CustomStringConvertible {
        public var path: String
        public var description: String {
            "\(path) not found — models are installed by scripts/setup.sh (into $EPISODIC_MODELS); fixtures ship in Tests/TestSupport/Fixtures"
        }
    }

    /// Copies a seeded fixture model to a cache folder and writes its weights, once per manifest.
    static func materialize(_ name: String) throws -> URL {
        let source = url(name)
        let manifest = try Data(contentsOf: source.appendingPathComponent("weights.json"))
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in manifest { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("episodic-test-fixtures")
        let target = cache.appendingPathComponent("\(name)-\(String(hash, radix: 16))")
        if FileManager.default.fileExists(atPath: target.appendingPathComponent("model.safetensors").path) { return target }
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        let staging = cache.appendingPathComponent(".\(name)-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: source, to: staging)
        try SeededWeights.writeSafetensors(manifest: staging.appendingPathComponent("weights.json"), into: staging)
        do {
            try FileManager.default.moveItem(at: staging, to: target)
        } catch {
            // Another test process finished first: use its copy.
            try? FileManager.default.removeItem(at: staging)
        }
        return target
    }
}

/// A value computed once, on first use, safely from any thread.
public final class Lazy<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value?
    private let make: () -> Value

    public init(_ make: @escaping () -> Value) { self.make = make }

    public var value: Value {
        lock.lock()
        defer { lock.unlock() }
        if let stored { return stored }
        let value = make()
        stored = value
        return value
    }
}

/// A fresh temporary directory, removed by ``remove()``.
public struct TemporaryDirectory: Sendable {
    public let url: URL

    public init(_ label: String = "episodic-tests") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    public func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Deterministic pseudo-random numbers.
public struct SeededRandom: Sendable {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }

    public mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state
    }

    public mutating func unitVector(_ dimension: Int) -> [Float] {
        let v = (0..<dimension).map { _ in Float(Int64(bitPattern: next() >> 11) % 2001 - 1000) / 1000 }
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / max(norm, 1e-6) }
    }
}

/// Brute force: every vector scored with the same float32 dot, sorted by score desc, id asc.
public func bruteForce(_ vectors: [(id: String, vector: [Float])], query: [Float], k: Int) -> [String] {
    vectors.map { (id: $0.id, score: VectorKernels.dot($0.vector, query)) }
        .sorted { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
        .prefix(k).map(\.id)
}

/// Cosine similarity of two vectors, in double precision.
public func cosine(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count)
    var dot = 0.0, na = 0.0, nb = 0.0
    for i in a.indices {
        dot += Double(a[i]) * Double(b[i]); na += Double(a[i]) * Double(a[i]); nb += Double(b[i]) * Double(b[i])
    }
    return dot / (na.squareRoot() * nb.squareRoot())
}

/// One text of a sentence-transformers reference file (minilm_reference.json, mpnet_reference.json).
public struct ReferenceText: Sendable {
    public var id: Int
    public var category: String
    public var text: String
    public var inputIDs: [Int32]
    public var embedding: [Float]

    public static func load(_ name: String) throws -> [ReferenceText] {
        let root = try Fixtures.json(Fixtures.url(name))
        return (root["texts"] as! [[String: Any]]).map { entry in
            ReferenceText(
                id: entry["id"] as? Int ?? 0, category: entry["category"] as? String ?? "",
                text: entry["text"] as! String,
                inputIDs: (entry["input_ids"] as! [Int]).map(Int32.init),
                embedding: (entry["embedding"] as! [Double]).map(Float.init))
        }
    }
}

/// Values recorded from a `@Sendable` callback (progress reports), read afterwards.
public final class Recorder<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Value] = []

    public init() {}

    public func record(_ value: Value) {
        lock.lock()
        stored.append(value)
        lock.unlock()
    }

    public var values: [Value] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}
