import EpisodeStore
import Foundation
import PostgresNIO

/// An ``EpisodeFilter`` as an SQL condition on `episodes` columns, its values appended to the
/// query's bindings (placeholders numbered after those already bound). Metadata values compare as
/// `jsonb` scalars: numbers by value, strings exactly — as ``EpisodeFilter/matches(_:)``.
enum PostgresFilter {
    static func condition(_ filter: EpisodeFilter, binds: inout PostgresBindings) throws -> String {
        var parts: [String] = []
        func placeholder() -> String { "$\(binds.count)" }
        if let after = filter.createdAfter {
            try binds.append(EpisodeTime.rfc3339(after))
            parts.append("created_at > \(placeholder())::timestamptz")
        }
        if let before = filter.createdBefore {
            try binds.append(EpisodeTime.rfc3339(before))
            parts.append("created_at < \(placeholder())::timestamptz")
        }
        for (key, condition) in filter.metadata.sorted(by: { $0.key < $1.key }) {
            guard !condition.values.isEmpty else {
                parts.append("false")
                continue
            }
            try binds.append(key)
            let keyPlaceholder = placeholder()
            try binds.append(condition.values.map(\.jsonText))
            parts.append("(metadata::jsonb -> \(keyPlaceholder)::text) = ANY(\(placeholder())::jsonb[])")
        }
        if !filter.excludedIDs.isEmpty {
            try binds.append(filter.excludedIDs.sorted())
            parts.append("id <> ALL(\(placeholder())::text[])")
        }
        return parts.isEmpty ? "true" : parts.joined(separator: " AND ")
    }
}
