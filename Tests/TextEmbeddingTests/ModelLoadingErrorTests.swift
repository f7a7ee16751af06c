import Foundation
import TestSupport
import Testing

@testable import TextEmbedding

/// A model directory with a missing or damaged file is refused with a typed error that names it.
@Suite struct ModelLoadingErrorTests {
    /// Copies the tiny fixture model into a temporary directory the test may damage.
    func copyOfTinyModel() throws -> URL {
        let dir = try TemporaryDirectory().url
        let target = dir.appendingPathComponent("model")
        try FileManager.default.copyItem(at: Fixtures.tinyBert, to: target)
        // Fixture files are read-only; the copy must be writable.
        for file in try FileManager.default.subpathsOfDirectory(atPath: target.path) {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: target.appendingPathComponent(file).path)
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: target.path)
        return target
    }

    @Test func missingDirectory() {
        #expect(throws: EmbeddingError.modelDirectoryNotFound(path: "/nonexistent/model")) {
            try SentenceEmbedder(directory: URL(fileURLWithPath: "/nonexistent/model"))
        }
    }

    @Test(arguments: ["config.json", "tokenizer.json", "model.safetensors"])
    func missingRequiredFile(_ name: String) throws {
        let model = try copyOfTinyModel()
        defer { try? FileManager.default.removeItem(at: model.deletingLastPathComponent()) }
        try FileManager.default.removeItem(at: model.appendingPathComponent(name))
        #expect(throws: EmbeddingError.missingFile(name: name, directory: model.path)) {
            try SentenceEmbedder(directory: model)
        }
    }

    @Test func configThatIsNotJSON() throws {
        let model = try copyOfTinyModel()
        defer { try? FileManager.default.removeItem(at: model.deletingLastPathComponent()) }
        try Data("{ not json".utf8).write(to: model.appendingPathComponent("config.json"))
        #expect(throws: EmbeddingError.invalidConfiguration(file: "config.json", reason: "not a JSON object")) {
            try SentenceEmbedder(directory: model)
        }
    }

    @Test func unsupportedArchitecture() throws {
        let model = try copyOfTinyModel()
        defer { try? FileManager.default.removeItem(at: model.deletingLastPathComponent()) }
        let url = model.appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        config["model_type"] = "gpt2"
        try JSONSerialization.data(withJSONObject: config).write(to: url)
        #expect(throws: EmbeddingError.unsupportedArchitecture(modelType: "gpt2")) {
            try SentenceEmbedder(directory: model)
        }
    }

    @Test func configWhoseSizesDisagreeWithTheWeights() throws {
        let model = try copyOfTinyModel()
        defer { try? FileManager.default.removeItem(at: model.deletingLastPathComponent()) }
        let url = model.appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        config["intermediate_size"] = 1024
        try JSONSerialization.data(withJSONObject: config).write(to: url)
        #expect(
            throws: EmbeddingError.shapeMismatch(
                tensor: "encoder.layer.0.intermediate.dense.weight",
                expected: [1024, 1024], actual: [512, 1024])
        ) {
            try SentenceEmbedder(directory: model)
        }
    }

    @Test func tokenizerWithAnUnsupportedModel() throws {
        let model = try copyOfTinyModel()
        defer { try? FileManager.default.removeItem(at: model.deletingLastPathComponent()) }
        let url = model.appendingPathComponent("tokenizer.json")
        var tokenizer = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var inner = tokenizer["model"] as! [String: Any]
        inner["type"] = "BPE"
        tokenizer["model"] = inner
        try JSONSerialization.data(withJSONObject: tokenizer).write(to: url)
        #expect(throws: EmbeddingError.unsupportedTokenizer(component: "model BPE")) {
            try SentenceEmbedder(directory: model)
        }
    }

    @Test func textOverTheByteLimitIsRefused() throws {
        let model = try SentenceEmbedder(directory: Fixtures.tinyBert, options: .init(maxTextBytes: 100))
        #expect(throws: EmbeddingError.textTooLong(index: 1, bytes: 101, limit: 100)) {
            try model.embed(["short", String(repeating: "a", count: 101)])
        }
        // Long texts under the limit are truncated to max_seq_length, as sentence-transformers does.
        let encoding = try model.encode([String(repeating: "word ", count: 19)])[0]
        #expect(encoding.ids.count <= model.directory.maxSequenceLength)
    }
}
