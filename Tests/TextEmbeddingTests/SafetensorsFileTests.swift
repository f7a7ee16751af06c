import Foundation
import TestSupport
import Testing

@testable import TextEmbedding

/// The safetensors header is validated before any tensor is read: truncation, bad lengths, bad
/// offsets, unknown or unsupported dtypes and shape/byte mismatches are typed errors.
@Suite struct SafetensorsFileTests {
    /// Builds a safetensors file from a header object and a data section.
    func write(header: [String: Any], data: [UInt8], rawHeader: Data? = nil) throws -> URL {
        let dir = try TemporaryDirectory().url
        let url = dir.appendingPathComponent("model.safetensors")
        let json = try rawHeader ?? JSONSerialization.data(withJSONObject: header)
        var bytes = Data()
        var length = UInt64(json.count).littleEndian
        bytes.append(Data(bytes: &length, count: 8))
        bytes.append(json)
        bytes.append(contentsOf: data)
        try bytes.write(to: url)
        return url
    }

    func floatBytes(_ values: [Float]) -> [UInt8] {
        values.withUnsafeBytes { Array($0) }
    }

    func expectCorrupt(_ url: URL, containing fragment: String) {
        do {
            _ = try SafetensorsFile(url: url)
            Issue.record("expected corruptWeights")
        } catch let EmbeddingError.corruptWeights(file, reason) {
            #expect(file == "model.safetensors")
            #expect(reason.contains(fragment), "\(reason)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func readsF32F16AndBF16() throws {
        let f16: [UInt8] = [Float16(1.5), Float16(-2)].flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
        let bf16: [UInt8] = [Float(3.0), Float(-0.5)].flatMap { v in
            withUnsafeBytes(of: UInt16(v.bitPattern >> 16).littleEndian) { Array($0) }
        }
        let url = try write(
            header: [
                "a": ["dtype": "F32", "shape": [2], "data_offsets": [0, 8]],
                "b": ["dtype": "F16", "shape": [2], "data_offsets": [8, 12]],
                "c": ["dtype": "BF16", "shape": [1, 2], "data_offsets": [12, 16]],
                "__metadata__": ["format": "pt"],
            ], data: floatBytes([0.25, 7]) + f16 + bf16)
        let file = try SafetensorsFile(url: url)
        #expect(try file.floats("a") == [0.25, 7])
        #expect(try file.floats("b") == [1.5, -2])
        #expect(try file.floats("c", shape: [1, 2]) == [3, -0.5])
        #expect(file.metadata["format"] == "pt")
    }

    @Test func truncatedFile() throws {
        let url = try write(header: ["a": ["dtype": "F32", "shape": [4], "data_offsets": [0, 16]]], data: floatBytes([1, 2]))
        expectCorrupt(url, containing: "truncated")
    }

    @Test func fileShorterThanTheLengthPrefix() throws {
        let url = try TemporaryDirectory().url.appendingPathComponent("model.safetensors")
        try Data([1, 2, 3]).write(to: url)
        expectCorrupt(url, containing: "fewer than the 8-byte header")
    }

    @Test func headerLengthPastTheEnd() throws {
        let url = try TemporaryDirectory().url.appendingPathComponent("model.safetensors")
        var bytes = Data()
        var length = UInt64(1000).littleEndian
        bytes.append(Data(bytes: &length, count: 8))
        bytes.append(Data("{}".utf8))
        try bytes.write(to: url)
        expectCorrupt(url, containing: "runs past the end")
    }

    @Test func headerThatIsNotJSON() throws {
        let url = try write(header: [:], data: [], rawHeader: Data("{\"a\": [".utf8))
        expectCorrupt(url, containing: "not a JSON object")
    }

    @Test func shapeDisagreesWithByteLength() throws {
        let url = try write(header: ["a": ["dtype": "F32", "shape": [3], "data_offsets": [0, 8]]], data: floatBytes([1, 2]))
        expectCorrupt(url, containing: "shape [3]")
    }

    @Test func unknownDType() throws {
        let url = try write(header: ["a": ["dtype": "Q4", "shape": [2], "data_offsets": [0, 8]]], data: floatBytes([1, 2]))
        expectCorrupt(url, containing: "unknown dtype Q4")
    }

    @Test func overlappingTensors() throws {
        let url = try write(
            header: [
                "a": ["dtype": "F32", "shape": [2], "data_offsets": [0, 8]],
                "b": ["dtype": "F32", "shape": [2], "data_offsets": [4, 12]],
            ], data: floatBytes([1, 2, 3]))
        expectCorrupt(url, containing: "overlap")
    }

    @Test func negativeOrReversedOffsets() throws {
        let url = try write(header: ["a": ["dtype": "F32", "shape": [0], "data_offsets": [8, 0]]], data: floatBytes([1, 2]))
        expectCorrupt(url, containing: "data_offsets")
    }

    @Test func unsupportedDTypeForFloats() throws {
        let url = try write(header: ["ids": ["dtype": "I64", "shape": [1], "data_offsets": [0, 8]]], data: Array(repeating: 0, count: 8))
        let file = try SafetensorsFile(url: url)
        #expect(throws: EmbeddingError.unsupportedDType(tensor: "ids", dtype: "I64")) { try file.floats("ids") }
    }

    @Test func wrongShapeRequested() throws {
        let url = try write(header: ["a": ["dtype": "F32", "shape": [2], "data_offsets": [0, 8]]], data: floatBytes([1, 2]))
        let file = try SafetensorsFile(url: url)
        #expect(throws: EmbeddingError.shapeMismatch(tensor: "a", expected: [1, 2], actual: [2])) { try file.floats("a", shape: [1, 2]) }
        #expect(throws: EmbeddingError.missingTensor(name: "b", file: "model.safetensors")) { try file.floats("b") }
    }

    @Test func corruptWeightsInAModelDirectoryAreReportedOnLoad() throws {
        // A model directory whose weights were cut short by an interrupted download.
        let dir = try TemporaryDirectory().url
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        for name in ["config.json", "tokenizer.json", "modules.json", "config_sentence_transformers.json", "sentence_bert_config.json"] {
            try FileManager.default.copyItem(at: Fixtures.tinyBert.appendingPathComponent(name), to: model.appendingPathComponent(name))
        }
        let weights = try Data(contentsOf: Fixtures.tinyBert.appendingPathComponent("model.safetensors"))
        try weights.prefix(weights.count / 2).write(to: model.appendingPathComponent("model.safetensors"))
        do {
            _ = try SentenceEmbedder(directory: model)
            Issue.record("a truncated weights file loaded")
        } catch let EmbeddingError.corruptWeights(file, reason) {
            #expect(file == "model.safetensors")
            #expect(reason.contains("truncated"))
        }
    }
}
