/// The `BertPreTokenizer` of Hugging Face `tokenizers`: splits on whitespace (dropped) and isolates
/// every punctuation character as a word of its own.
struct BertPreTokenizer: Sendable {
    /// Calls `body` with the range of each word of `text`, in order.
    func forEachWord(in text: [Unicode.Scalar], _ body: (Range<Int>) -> Void) {
        var start = -1
        for i in text.indices {
            let scalar = text[i]
            if BertNormalizer.isWhitespace(scalar) {
                if start >= 0 { body(start..<i); start = -1 }
            } else if Self.isPunctuation(scalar) {
                if start >= 0 { body(start..<i); start = -1 }
                body(i..<(i + 1))
            } else if start < 0 {
                start = i
            }
        }
        if start >= 0 { body(start..<text.count) }
    }

    /// ASCII punctuation (which includes symbols such as `$`, `+`, `<`, `^`, `|`) or any Unicode
    /// punctuation category (Pc, Pd, Pe, Pf, Pi, Po, Ps).
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v < 0x80 {
            return (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v)
        }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .closePunctuation, .finalPunctuation,
            .initialPunctuation, .otherPunctuation, .openPunctuation:
            return true
        default:
            return false
        }
    }
}
