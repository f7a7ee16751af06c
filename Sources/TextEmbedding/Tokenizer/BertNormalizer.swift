import Foundation

/// The `BertNormalizer` of Hugging Face `tokenizers`: clean text, space out CJK ideographs, strip
/// accents (NFD, then drop nonspacing marks), lowercase — in that order, scalar by scalar, so that
/// the output is identical to the Rust implementation's.
struct BertNormalizer: Sendable {
    var cleanText = true
    var handleChineseChars = true
    /// `nil` in tokenizer.json means "follow `lowercase`".
    var stripAccents: Bool? = nil
    var lowercase = true

    private var shouldStripAccents: Bool { stripAccents ?? lowercase }

    /// Normalizes `input` into `output` (cleared first).
    func normalize<S: Sequence<Unicode.Scalar>>(_ input: S, into output: inout [Unicode.Scalar]) {
        output.removeAll(keepingCapacity: true)
        var allASCII = true
        for scalar in input {
            let v = scalar.value
            if cleanText {
                if v == 0 || v == 0xFFFD || Self.isControl(scalar) { continue }
                if Self.isWhitespace(scalar) { output.append(" "); continue }
            }
            if handleChineseChars && Self.isChineseChar(v) {
                output.append(" "); output.append(scalar); output.append(" ")
                allASCII = false
                continue
            }
            if v >= 0x80 { allASCII = false }
            output.append(scalar)
        }
        if allASCII {
            // ASCII has no decompositions and no nonspacing marks: only lowercasing can apply.
            if lowercase {
                for i in output.indices where output[i].value &- 65 < 26 {
                    output[i] = Unicode.Scalar(output[i].value | 0x20)!
                }
            }
            return
        }
        if shouldStripAccents {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: output)
            let decomposed = String(view).decomposedStringWithCanonicalMapping.unicodeScalars
            output.removeAll(keepingCapacity: true)
            for scalar in decomposed where scalar.properties.generalCategory != .nonspacingMark {
                output.append(scalar)
            }
        }
        if lowercase {
            var lowered: [Unicode.Scalar] = []
            lowered.reserveCapacity(output.count)
            for scalar in output {
                if scalar.value < 0x80 {
                    lowered.append(scalar.value &- 65 < 26 ? Unicode.Scalar(scalar.value | 0x20)! : scalar)
                } else if scalar.properties.changesWhenLowercased {
                    lowered.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
                } else {
                    lowered.append(scalar)
                }
            }
            output = lowered
        }
    }

    /// Rust's `char::is_whitespace` (the White_Space property) plus tab, newline and return.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D, 0x20: return true
        case 0..<0x80: return false
        default: return scalar.properties.isWhitespace
        }
    }

    /// Categories Cc, Cf, Cn, Co and Cs, except tab, newline and return (which count as whitespace).
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: return false
        case 0..<0x20, 0x7F: return true
        case 0x20..<0x7F: return false
        default:
            switch scalar.properties.generalCategory {
            case .control, .format, .unassigned, .privateUse, .surrogate: return true
            default: return false
            }
        }
    }

    /// The CJK Unified Ideographs blocks BERT spaces out (not Hangul, Hiragana or Katakana).
    static func isChineseChar(_ v: UInt32) -> Bool {
        switch v {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
            0x2B740...0x2B81F, 0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }
}
