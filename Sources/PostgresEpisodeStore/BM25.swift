import EpisodeStore
import Foundation

/// BM25 as SQLite's FTS5 computes it (`bm25()` with k1 = 1.2, b = 0.75): for each query term t
/// with frequency qtf in the query, idf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·|D|/avgdl)), summed,
/// idf(t) = ln((N − df + 0.5) / (df + 0.5)), floored at 1e-6 as FTS5 floors it.
enum BM25 {
    static let k1 = 1.2
    static let b = 0.75

    /// Scores documents (id, term → frequency) for query terms (term, frequency in the query);
    /// best first, ties by id. Document frequencies are counted among `documents`, which must be
    /// every document of the collection holding at least one query term.
    static func rank(
        query: [(String, Int)], documents: [(String, [String: Int])], documentCount: Int,
        averageLength: Double
    ) -> [LexicalHit] {
        let n = Double(max(documentCount, documents.count))
        var df: [String: Int] = [:]
        for (_, terms) in documents { for (term, _) in query where terms[term] != nil { df[term, default: 0] += 1 } }
        let idf = df.mapValues { max(1e-6, log((n - Double($0) + 0.5) / (Double($0) + 0.5))) }
        let avgdl = max(averageLength, 1e-9)
        var hits = documents.map { id, terms -> LexicalHit in
            let length = Double(terms.values.reduce(0, +))
            var score = 0.0
            for (term, qtf) in query {
                guard let tf = terms[term].map(Double.init), let weight = idf[term] else { continue }
                score += Double(qtf) * weight * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avgdl))
            }
            return LexicalHit(episodeID: id, score: score)
        }
        hits.sort { $0.score != $1.score ? $0.score > $1.score : $0.episodeID < $1.episodeID }
        return hits
    }
}

/// PostgreSQL's text form of a `tsvector`: `'lexeme':1,5B 'other':3 'nopos'`.
enum TSVectorText {
    /// Term → number of positions (1 for a lexeme stored without positions).
    static func termFrequencies(_ text: String) -> [String: Int] {
        var result: [String: Int] = [:]
        let scalars = Array(text.unicodeScalars)
        var i = 0
        while i < scalars.count {
            guard scalars[i] == "'" else { i += 1; continue }
            i += 1
            var lexeme = String.UnicodeScalarView()
            while i < scalars.count {
                if scalars[i] == "'" {
                    if i + 1 < scalars.count, scalars[i + 1] == "'" { lexeme.append("'"); i += 2; continue }
                    i += 1
                    break
                }
                lexeme.append(scalars[i])
                i += 1
            }
            var positions = 1
            if i < scalars.count, scalars[i] == ":" {
                positions = 1
                i += 1
                while i < scalars.count, scalars[i] != " " {
                    if scalars[i] == "," { positions += 1 }
                    i += 1
                }
            }
            result[String(lexeme), default: 0] += positions
        }
        return result
    }
}
