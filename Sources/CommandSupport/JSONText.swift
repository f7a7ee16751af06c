import Foundation

/// JSON text of a report built from dictionaries and arrays (benchmark and command summaries;
/// episodes themselves are written by `EpisodicWire`).
public enum JSONText {
    public static func of(_ object: Any, pretty: Bool = false) -> String {
        let options: JSONSerialization.WritingOptions =
            pretty
            ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            : [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? JSONSerialization.data(withJSONObject: object, options: options)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
