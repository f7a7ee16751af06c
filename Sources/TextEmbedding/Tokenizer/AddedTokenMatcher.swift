/// Finds the tokenizer's added (special) tokens in text before normalization and pre-tokenization,
/// as Hugging Face `tokenizers` does: leftmost-longest match; `lstrip`/`rstrip` absorb the adjacent
/// whitespace; `single_word` tokens match only between word boundaries.
struct AddedTokenMatcher: Sendable {
    struct Token: Sendable {
        var content: [Unicode.Scalar]
        var id: Int32
        var singleWord = false
        var lstrip = false
        var rstrip = false
    }

    enum Segment: Equatable {
        case text(Range<Int>)
        case token(Int32)
    }

    /// Tokens grouped by first scalar, longest first.
    private let byFirstScalar: [Unicode.Scalar: [Token]]

    init(_ tokens: [Token]) {
        var table: [Unicode.Scalar: [Token]] = [:]
        for token in tokens where !token.content.isEmpty {
            table[token.content[0], default: []].append(token)
        }
        byFirstScalar = table.mapValues { $0.sorted { $0.content.count > $1.content.count } }
    }

    var isEmpty: Bool { byFirstScalar.isEmpty }

    /// Splits `text` into runs of plain text and matched tokens, in order.
    func split(_ text: [Unicode.Scalar]) -> [Segment] {
        if byFirstScalar.isEmpty { return text.isEmpty ? [] : [.text(0..<text.count)] }
        var segments: [Segment] = []
        var textStart = 0
        var i = 0
        while i < text.count {
            guard let candidates = byFirstScalar[text[i]],
                let token = candidates.first(where: { matches($0, in: text, at: i) })
            else {
                i += 1
                continue
            }
            var textEnd = i
            if token.lstrip {
                while textEnd > textStart && BertNormalizer.isWhitespace(text[textEnd - 1]) { textEnd -= 1 }
            }
            if textEnd > textStart { segments.append(.text(textStart..<textEnd)) }
            segments.append(.token(token.id))
            i += token.content.count
            if token.rstrip {
                while i < text.count && BertNormalizer.isWhitespace(text[i]) { i += 1 }
            }
            textStart = i
        }
        if textStart < text.count { segments.append(.text(textStart..<text.count)) }
        return segments
    }

    private func matches(_ token: Token, in text: [Unicode.Scalar], at i: Int) -> Bool {
        let end = i + token.content.count
        guard end <= text.count else { return false }
        for k in 0..<token.content.count where text[i + k] != token.content[k] { return false }
        if token.singleWord {
            if i > 0 && Self.isWordCharacter(text[i - 1]) { return false }
            if end < text.count && Self.isWordCharacter(text[end]) { return false }
        }
        return true
    }

    private static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "_" || scalar.properties.isAlphabetic || scalar.properties.numericType != nil
    }
}
