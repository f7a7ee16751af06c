import EpisodicMemory
import Foundation

/// A retrieval evaluation set in the BEIR layout: `corpus.jsonl` (`id`, `text`, optional
/// `conversation_id` = the agent whose memory holds the document), `queries.jsonl` (`id`,
/// `text`, optional `conversation_id`: search within that agent), `qrels.tsv`
/// (`query_id⇥doc_id⇥relevance`, no header).
public struct BEIRDataset: Sendable {
    public struct Document: Sendable { public var id, text, agent: String }
    public struct Query: Sendable {
        public var id, text, agent: String
        /// The query's `category` (a string or a number in the file), when it has one.
        public var category: String?
    }

    public var name: String
    public var documents: [Document]
    /// Queries with at least one relevant document (metrics are means over these).
    public var queries: [Query]
    /// query id → (doc id → grade)
    public var qrels: [String: [String: Int]]

    /// The agent for rows without `conversation_id`.
    public static let defaultAgent = "default"

    /// Half of the queries, chosen by a hash of their id (stable across runs and machines): one half
    /// to choose parameters on, the other to report on.
    public enum Split: String, Sendable, CaseIterable {
        case all, tune, test

        public func contains(_ id: String) -> Bool {
            if self == .all { return true }
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325 // FNV-1a
            for byte in id.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            return (hash % 2 == 0) == (self == .tune)
        }
    }

    /// The dataset with only the queries of `split`.
    public func restricted(to split: Split) -> BEIRDataset {
        var copy = self
        copy.queries = queries.filter { split.contains($0.id) }
        return copy
    }

    public init(directory: URL) throws {
        name = directory.lastPathComponent
        func lines(_ file: String) throws -> [[String: Any]] {
            let url = directory.appendingPathComponent(file)
            guard let text = try? String(contentsOf: url, encoding: .utf8) else {
                throw RetrievalError.invalidParameter(
                    "\(url.path) is missing or not UTF-8: a BEIR dataset needs corpus.jsonl, queries.jsonl and qrels.tsv")
            }
            return try text.split(separator: "\n").enumerated().compactMap { index, line in
                if line.allSatisfy(\.isWhitespace) { return nil }
                guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                    throw RetrievalError.invalidParameter("\(file) line \(index + 1) is not a JSON object")
                }
                return object
            }
        }
        func string(_ value: Any?) -> String? { (value as? String) ?? (value as? NSNumber).map { "\($0)" } }
        documents = try lines("corpus.jsonl").map { o in
            guard let id = string(o["id"] ?? o["_id"]), let text = o["text"] as? String else {
                throw RetrievalError.invalidParameter("corpus.jsonl: a document without id or text")
            }
            let title = (o["title"] as? String).map { $0.isEmpty ? "" : $0 + " " } ?? ""
            return Document(id: id, text: title + text, agent: string(o["conversation_id"]) ?? Self.defaultAgent)
        }
        guard let qrelsText = try? String(contentsOf: directory.appendingPathComponent("qrels.tsv"), encoding: .utf8) else {
            throw RetrievalError.invalidParameter("\(directory.path)/qrels.tsv is missing")
        }
        var qrels: [String: [String: Int]] = [:]
        for line in qrelsText.split(separator: "\n") {
            let fields = line.split(separator: "\t").map(String.init)
            guard fields.count >= 3, let grade = Int(fields[2].trimmingCharacters(in: .whitespaces)) else { continue } // header or junk
            qrels[fields[0], default: [:]][fields[1]] = grade
        }
        self.qrels = qrels
        queries = try lines("queries.jsonl").compactMap { o in
            guard let id = string(o["id"] ?? o["_id"]), let text = o["text"] as? String else {
                throw RetrievalError.invalidParameter("queries.jsonl: a query without id or text")
            }
            guard let judged = qrels[id], judged.values.contains(where: { $0 > 0 }) else { return nil }
            return Query(id: id, text: text, agent: string(o["conversation_id"]) ?? Self.defaultAgent, category: string(o["category"]))
        }
    }
}
