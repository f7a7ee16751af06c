import Crypto
import Foundation

/// The sha256 of a model directory's `model.safetensors`: what a vector column records so that
/// vectors of different weights are never mixed. Hashing 0.1–1.3 GB on every start would cost
/// seconds, so the digest is cached beside the weights (`.model.safetensors.sha256`) keyed by the
/// file's size and modification time.
public enum ModelFingerprint {
    /// The sha256 (lowercase hex) of `directory/model.safetensors`.
    public static func sha256(ofModelIn directory: URL) throws -> String {
        let weights = directory.appendingPathComponent("model.safetensors")
        let cache = directory.appendingPathComponent(".model.safetensors.sha256")
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: weights.path) else {
            throw EmbeddingError.missingFile(name: "model.safetensors", directory: directory.path)
        }
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? -1
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let key = "\(size) \(modified)"
        if let cached = try? String(contentsOf: cache, encoding: .utf8) {
            let parts = cached.split(separator: "\n")
            if parts.count == 2, parts[0] == key, parts[1].count == 64 { return String(parts[1]) }
        }
        let digest = try sha256(ofFile: weights)
        // Best effort: a read-only models folder just means hashing again next time.
        try? "\(key)\n\(digest)".write(to: cache, atomically: true, encoding: .utf8)
        return digest
    }

    /// The sha256 (lowercase hex) of a file, read in 4 MiB chunks.
    public static func sha256(ofFile url: URL) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw EmbeddingError.missingFile(name: url.lastPathComponent, directory: url.deletingLastPathComponent().path)
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
