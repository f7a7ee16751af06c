/// The words of free text a lexical search looks for: letters and digits, lowercased, without
/// English stop words. The SQLite store quotes each (so no word is read as FTS5 syntax) and joins
/// them with OR, so that BM25 ranks episodes by how many of the words they share and how rare
/// those are; PostgreSQL's store stems them into a `tsquery`.
///
/// A word repeated in the query is repeated in the expression: FTS5 sums BM25 over the phrases,
/// so repetition weights a word by its frequency in the query, as BM25's query-term frequency
/// does. Measured on semanlink_arxiv_tags (long queries): nDCG@10 0.269 with each word once,
/// 0.325 with repetition (the Python bm25s baseline: 0.323).
public enum LexicalQuery {
    /// Words beyond this many are ignored (the expression grows with the query).
    public static let maxTerms = 512

    /// The searchable words of `text`, in order, repeated as often as they occur.
    public static func terms(in text: String) -> [String] {
        var result: [String] = []
        var current = ""
        func flush() {
            if !current.isEmpty, !stopWords.contains(current), result.count < maxTerms { result.append(current) }
            current = ""
        }
        for scalar in text.lowercased().unicodeScalars {
            if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                current.unicodeScalars.append(scalar)
            } else {
                flush()
            }
        }
        flush()
        return result
    }

    /// Common English function words (they match nearly every episode and only add noise).
    static let stopWords: Set<String> = [
        "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at",
        "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could",
        "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has",
        "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in",
        "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor", "not", "now",
        "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "s",
        "same", "she", "should", "so", "some", "such", "t", "than", "that", "the", "their", "theirs", "them",
        "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until",
        "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will",
        "with", "would", "you", "your", "yours", "yourself", "yourselves",
    ]
}
