import Foundation
import Testing

@testable import Evaluation

/// Reading a BEIR folder: categories, and the tune/test halves parameters are chosen and reported on.
@Suite struct BEIRDatasetTests {
    func write(queries: Int) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("beir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let corpus = (0..<3).map { #"{"id": "d\#($0)", "text": "document \#($0)", "conversation_id": "c"}"# }
        let lines = (0..<queries).map { i in
            let category = i % 2 == 0 ? "\(i % 3)" : "\"temporal\""
            return #"{"id": "q\#(i)", "text": "query \#(i)", "conversation_id": "c", "category": \#(category)}"#
        }
        try corpus.joined(separator: "\n").write(to: directory.appendingPathComponent("corpus.jsonl"), atomically: true, encoding: .utf8)
        try lines.joined(separator: "\n").write(to: directory.appendingPathComponent("queries.jsonl"), atomically: true, encoding: .utf8)
        let qrels = (0..<queries).map { "q\($0)\td\($0 % 3)\t1" } + ["q0\td1\t0"]
        try qrels.joined(separator: "\n").write(to: directory.appendingPathComponent("qrels.tsv"), atomically: true, encoding: .utf8)
        return directory
    }

    @Test func categoriesAreReadFromNumbersAndStrings() throws {
        let directory = try write(queries: 4)
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = try BEIRDataset(directory: directory)
        #expect(data.queries.map(\.category) == ["0", "temporal", "2", "temporal"])
        #expect(data.qrels["q0"] == ["d0": 1, "d1": 0])
    }

    @Test func theHalvesAreDisjointStableAndCoverEveryQuery() throws {
        let directory = try write(queries: 400)
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = try BEIRDataset(directory: directory)
        let tune = Set(data.restricted(to: .tune).queries.map(\.id)), test = Set(data.restricted(to: .test).queries.map(\.id))
        #expect(tune.isDisjoint(with: test) && tune.union(test) == Set(data.queries.map(\.id)))
        #expect(data.restricted(to: .all).queries.count == 400)
        // Roughly half each (a hash, not a count): far from all-or-nothing.
        #expect((150...250).contains(tune.count))
        // Stable: the id alone decides, as on any other machine.
        #expect(BEIRDataset.Split.tune.contains("q0") == !BEIRDataset.Split.test.contains("q0"))
        #expect(Set(try BEIRDataset(directory: directory).restricted(to: .tune).queries.map(\.id)) == tune)
    }
}
