extension JSONValue {
    /// Compact JSON text; object keys sorted (so that equal values give equal text). Numbers are
    /// written as their literals, strings with the escapes RFC 8259 requires.
    public var jsonText: String {
        var out = ""
        JSONWriter.write(self, into: &out)
        return out
    }

    /// An object's JSON text.
    public static func jsonText(of object: [String: JSONValue]) -> String { JSONValue.object(object).jsonText }
}

/// Writes JSON text. Appends to a `String` so that callers can stream a large document (an export,
/// a page of episodes) without building a tree first.
public enum JSONWriter {
    public static func write(_ value: JSONValue, into out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n.literal
        case .string(let s): writeString(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                write(item, into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, key) in members.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                writeString(key, into: &out)
                out += ":"
                write(members[key]!, into: &out)
            }
            out += "}"
        }
    }

    /// A JSON string literal for `s`.
    public static func writeString(_ s: String, into out: inout String) {
        out += "\""
        // Most strings need no escape: one pass over their bytes, then one append (walking
        // them scalar by scalar cost 2 % of a loaded server's time, in writing responses).
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
            out += s
            out += "\""
            return
        }
        var plainStart = s.unicodeScalars.startIndex
        var index = plainStart
        let scalars = s.unicodeScalars
        while index < scalars.endIndex {
            let scalar = scalars[index]
            let escape: String?
            switch scalar {
            case "\"": escape = "\\\""
            case "\\": escape = "\\\\"
            case "\n": escape = "\\n"
            case "\r": escape = "\\r"
            case "\t": escape = "\\t"
            case "\u{08}": escape = "\\b"
            case "\u{0C}": escape = "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    escape = "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    escape = nil
                }
            }
            if let escape {
                out.unicodeScalars.append(contentsOf: scalars[plainStart..<index])
                out += escape
                plainStart = scalars.index(after: index)
            }
            index = scalars.index(after: index)
        }
        out.unicodeScalars.append(contentsOf: scalars[plainStart..<scalars.endIndex])
        out += "\""
    }

    /// A JSON number for a float (vectors): Swift's shortest round-tripping form.
    public static func writeNumber(_ value: Float, into out: inout String) {
        out += value.isFinite ? "\(value)" : "null"
    }

    /// A JSON number for a double (scores, timings); `null` for NaN and ±∞.
    public static func writeNumber(_ value: Double, into out: inout String) {
        out += value.isFinite ? "\(value)" : "null"
    }
}
