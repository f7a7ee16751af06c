import EpisodeStore
import Foundation

/// BM25 as SQLite's FTS5 computes it (`bm25()` with k1 = 1.2, b = 0.75): for each query term t
/// with frequency qtf in the query, idf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·|D|/avgdl)), summed,
/// idf(t) = ln((N − df + 0.5) / (df + 0.5)), floored at 1e-6 as FTS5 floors it.
enum BM25 {
    static let k1 = 1.2
    static let b = 0.75

    /// What BM25 needs of one document: its length in tokens and how often each query term occurs
    /// in it (`frequencies[i]` for the query's term `i`, 0 when absent).
    struct Document {
        var id: String
        var length: Int
        var frequencies: [Int]
    }

    /// Scores documents for query terms (term, frequency in the query); best first, ties by id.
    /// Document frequencies are counted among `documents`, which must be every document of the
    /// collection holding at least one query term.
    static func rank(query: [(String, Int)], documents: [Document], documentCount: Int, averageLength: Double) -> [LexicalHit] {
        let n = Double(max(documentCount, documents.count))
        var df = [Int](repeating: 0, count: query.count)
        for document in documents { for i in query.indices where document.frequencies[i] > 0 { df[i] += 1 } }
        let idf = df.map { max(1e-6, log((n - Double($0) + 0.5) / (Double($0) + 0.5))) }
        let avgdl = max(averageLength, 1e-9)
        var hits = documents.map { document -> LexicalHit in
            let length = Double(document.length)
            var score = 0.0
            for (i, (_, qtf)) in query.enumerated() where document.frequencies[i] > 0 {
                let tf = Double(document.frequencies[i]), weight = idf[i]
                score += Double(qtf) * weight * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avgdl))
            }
            return LexicalHit(episodeID: document.id, score: score)
        }
        hits.sort { $0.score != $1.score ? $0.score > $1.score : $0.episodeID < $1.episodeID }
        return hits
    }
}

/// PostgreSQL's text form of a `tsvector`: `'lexeme':1,5B 'other':3 'it''s' 'nopos'` (a quote
/// or backslash inside a lexeme doubled).
enum TSVectorText {
    /// The vector's length in tokens (each lexeme counts its positions, 1 when stored without
    /// any) and the number of positions of each of `terms` (0 when absent). Reads the UTF-8 bytes
    /// once into one reused buffer, building no string or dictionary per lexeme: a lexical search
    /// reads thousands of vectors per query.
    static func scan(_ text: String, terms: [[UInt8]]) -> (length: Int, frequencies: [Int]) {
        var text = text
        return text.withUTF8 { scan(bytes: $0, terms: terms) }
    }

    static func scan(bytes: UnsafeBufferPointer<UInt8>, terms: [[UInt8]]) -> (length: Int, frequencies: [Int]) {
        let quote = UInt8(ascii: "'"), backslash = UInt8(ascii: "\\"), colon = UInt8(ascii: ":")
        let comma = UInt8(ascii: ","), space = UInt8(ascii: " ")
        var frequencies = [Int](repeating: 0, count: terms.count)
        var length = 0
        var lexeme: [UInt8] = []
        lexeme.reserveCapacity(64)
        var i = 0
        let count = bytes.count
        while i < count {
            guard bytes[i] == quote else { i += 1; continue }
            i += 1
            lexeme.removeAll(keepingCapacity: true)
            while i < count {
                let byte = bytes[i]
                if byte == quote || byte == backslash {
                    // Doubled: one character of the lexeme; a lone quote ends it.
                    if i + 1 < count, bytes[i + 1] == byte { lexeme.append(byte); i += 2; continue }
                    if byte == quote { i += 1; break }
                }
                lexeme.append(byte)
                i += 1
            }
            var positions = 1
            if i < count, bytes[i] == colon {
                i += 1
                while i < count, bytes[i] != space {
                    if bytes[i] == comma { positions += 1 }
                    i += 1
                }
            }
            length += positions
            for t in terms.indices where terms[t] == lexeme { frequencies[t] += positions }
        }
        return (length, frequencies)
    }
}
