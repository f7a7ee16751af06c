import Foundation

/// The normalised form of an episode's content and its 64-bit fingerprint, which a `dedup` write
/// looks up (an index on (agent, fingerprint); equal fingerprints are confirmed on the text).
///
/// Normalised: Unicode compatibility composition (NFKC), lower case, every run of white space one
/// space, none at either end — "Booked  a Flight\n" and "booked a flight" are the same memory.
public enum TextFingerprint {
    public static func normalized(_ text: String) -> String {
        let folded = text.precomposedStringWithCompatibilityMapping.lowercased()
        var out = ""
        out.reserveCapacity(folded.utf8.count)
        var pendingSpace = false
        for scalar in folded.unicodeScalars {
            if scalar.properties.isWhitespace {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace { out.unicodeScalars.append(" "); pendingSpace = false }
            out.unicodeScalars.append(scalar)
        }
        return out
    }

    /// FNV-1a over the normalised text's UTF-8, as a signed 64-bit integer (SQLite INTEGER,
    /// PostgreSQL bigint). Stable across processes and platforms, unlike `Hasher`.
    public static func fingerprint(_ text: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in normalized(text).utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }
}
