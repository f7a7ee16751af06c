import Foundation
import GRDB

/// An ``EpisodeFilter`` as an SQL condition on the `episodes` row aliased `e`, with its
/// arguments: keys and values are always bound, never spliced into the SQL.
///
/// Metadata conditions read the row's JSON with `json_each` (the key is a bound value, so any key
/// works without JSON-path quoting); numbers compare by value, as ``EpisodeFilter/matches(_:)``.
enum SQLiteFilter {
    static func condition(_ filter: EpisodeFilter) -> (sql: String, arguments: StatementArguments) {
        var parts: [String] = []
        var arguments = StatementArguments()
        if let after = filter.createdAfter {
            parts.append("e.created_at > ?")
            arguments += [EpisodeTime.storedText(after)]
        }
        if let before = filter.createdBefore {
            parts.append("e.created_at < ?")
            arguments += [EpisodeTime.storedText(before)]
        }
        for (key, condition) in filter.metadata.sorted(by: { $0.key < $1.key }) {
            let values = condition.values
            guard !values.isEmpty else {
                parts.append("0")
                continue
            }
            var alternatives: [String] = []
            arguments += [key]
            for value in values {
                switch value {
                case .null: alternatives.append("j.type = 'null'")
                case .bool(true): alternatives.append("j.type = 'true'")
                case .bool(false): alternatives.append("j.type = 'false'")
                case .string(let s):
                    alternatives.append("(j.type = 'text' AND j.atom = ?)")
                    arguments += [s]
                case .number(let n):
                    alternatives.append("(j.type IN ('integer', 'real') AND j.atom = ?)")
                    if let i = Int64(n.description) { arguments += [i] } else { arguments += [n.double] }
                case .array, .object:
                    alternatives.append("0") // refused by EpisodeFilter.validate()
                }
            }
            parts.append("EXISTS (SELECT 1 FROM json_each(e.metadata) j WHERE j.key = ? AND (\(alternatives.joined(separator: " OR "))))")
        }
        if !filter.excludedIDs.isEmpty {
            parts.append("e.id NOT IN (SELECT value FROM json_each(?))")
            arguments += [JSONValue.array(filter.excludedIDs.sorted().map(JSONValue.string)).jsonText]
        }
        return (parts.isEmpty ? "1" : parts.joined(separator: " AND "), arguments)
    }
}
