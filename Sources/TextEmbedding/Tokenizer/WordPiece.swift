/// The WordPiece model: greedy longest-match-first segmentation of a word into vocabulary pieces,
/// continuation pieces carrying a prefix (`##`); a word with any unmatched remainder, or longer than
/// `maxInputCharsPerWord` scalars, becomes the unknown token.
struct WordPiece: Sendable {
    /// Pieces that may start a word (every vocabulary entry, as in the reference).
    private let initial: VocabularyTable
    /// Pieces that continue a word, keyed without their prefix.
    private let continuation: VocabularyTable
    let unknownID: Int32
    let maxInputCharsPerWord: Int
    /// The longest piece in scalars: no match can be longer, so the search starts there.
    private let longestPiece: Int

    init(
        vocabulary: [String: Int32], unknownToken: String, continuingSubwordPrefix: String,
        maxInputCharsPerWord: Int
    ) throws {
        guard let unk = vocabulary[unknownToken] else {
            throw EmbeddingError.invalidConfiguration(
                file: "tokenizer.json", reason: "unknown token \(unknownToken) is not in the vocabulary")
        }
        // Prefixes are compared as scalars, not Characters: "##" followed by a combining mark is a
        // different grapheme sequence but still a continuation piece.
        let prefix = Array(continuingSubwordPrefix.utf8)
        var continuation: [(key: [UInt8], id: Int32)] = []
        var longest = 1
        let sorted = vocabulary.sorted { $0.value < $1.value }
        for (piece, id) in sorted {
            let bytes = Array(piece.utf8)
            if !prefix.isEmpty && bytes.count > prefix.count && bytes.starts(with: prefix) {
                let rest = Array(bytes[prefix.count...])
                continuation.append((rest, id))
                longest = max(longest, String(decoding: rest, as: UTF8.self).unicodeScalars.count)
            }
            longest = max(longest, piece.unicodeScalars.count)
        }
        self.initial = VocabularyTable(sorted.map { (Array($0.key.utf8), $0.value) })
        self.continuation = VocabularyTable(continuation)
        self.unknownID = unk
        self.maxInputCharsPerWord = maxInputCharsPerWord
        self.longestPiece = longest
    }

    /// Appends the ids of `word`'s pieces to `ids`.
    func tokenize(_ word: ArraySlice<Unicode.Scalar>, into ids: inout [Int32]) {
        let n = word.count
        if n > maxInputCharsPerWord { ids.append(unknownID); return }
        // UTF-8 of the word and the byte offset of each scalar boundary.
        var utf8: [UInt8] = []
        utf8.reserveCapacity(n * 2)
        var boundaries = [0]
        boundaries.reserveCapacity(n + 1)
        for scalar in word {
            UTF8.encode(scalar) { utf8.append($0) }
            boundaries.append(utf8.count)
        }
        let mark = ids.count
        utf8.withUnsafeBufferPointer { bytes in
            var start = 0
            while start < n {
                var end = min(n, start + longestPiece)
                let table = start == 0 ? initial : continuation
                var found: Int32? = nil
                while end > start {
                    let piece = UnsafeBufferPointer(rebasing: bytes[boundaries[start]..<boundaries[end]])
                    if let id = table.id(of: piece) { found = id; break }
                    end -= 1
                }
                guard let id = found else {
                    ids.removeSubrange(mark...)
                    ids.append(unknownID)
                    return
                }
                ids.append(id)
                start = end
            }
        }
    }
}
