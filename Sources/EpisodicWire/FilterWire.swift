import EpisodicMemory
import Foundation

/// The JSON of an ``EpisodeFilter`` — what retrieval, listing, `DELETE …/episodes` and the
/// command line's `--filter` read:
///
/// ```json
/// {"metadata": {"tool": "flights", "status": {"in": ["open", "done"]}},
///  "created_after": "2026-11-24T00:00:00Z", "created_before": "2026-12-01T00:00:00Z",
///  "exclude_ids": ["e1", "e2"]}
/// ```
///
/// A metadata condition is a scalar (equality), `{"eq": scalar}` or `{"in": [scalars]}`; any other
/// operator is refused with its name. Dates are RFC 3339 or Unix seconds; both bounds are strict.
public enum FilterWire {
    public static let fields: Set<String> = ["metadata", "created_after", "created_before", "exclude_ids"]
    public static let operators: Set<String> = ["eq", "in"]

    public static func filter(from value: JSONValue, context: String) throws(WireError) -> EpisodeFilter {
        let object = try WireObject(value, context: context)
        try object.allowOnly(fields)
        var filter = EpisodeFilter()
        for (key, condition) in try object.object("metadata") ?? [:] {
            filter.metadata[key] = try self.condition(condition, key: key, context: context)
        }
        if object.has("created_after") {
            filter.createdAfter = try EpisodeWire.date(object.fields["created_after"]!, field: object.name("created_after"))
        }
        if object.has("created_before") {
            filter.createdBefore = try EpisodeWire.date(object.fields["created_before"]!, field: object.name("created_before"))
        }
        for (i, id) in (try object.array("exclude_ids") ?? []).enumerated() {
            guard let text = id.stringValue else { throw WireError("\(object.name("exclude_ids"))[\(i)] must be a string, got \(id.kind)") }
            filter.excludedIDs.insert(text)
        }
        do { try filter.validate() } catch {
            if case .invalidFilter(let reason) = error { throw WireError("\(context): \(reason)") }
            throw WireError("\(context): \(error)")
        }
        return filter
    }

    /// Parses a filter given as JSON text (a query parameter, a command-line option).
    public static func filter(text: String, context: String) throws(WireError) -> EpisodeFilter {
        let value: JSONValue
        do { value = try JSONParser(maxDepth: 16).parse(Array(text.utf8)) } catch { throw WireError("\(context): \(error)") }
        return try filter(from: value, context: context)
    }

    static func condition(_ value: JSONValue, key: String, context: String) throws(WireError) -> EpisodeFilter.Condition {
        let place = "\(context): metadata key \"\(key)\""
        switch value {
        case .array:
            throw WireError("\(place): a list of values is written {\"in\": [...]}")
        case .object(let members):
            guard members.count == 1, let (op, operand) = members.first else {
                throw WireError("\(place): a condition object has exactly one operator (supported: eq, in), got \(members.count)")
            }
            switch op {
            case "eq":
                return .equals(try scalar(operand, place: place))
            case "in":
                guard let values = operand.arrayValue else { throw WireError("\(place): \"in\" takes an array, got \(operand.kind)") }
                var scalars: [JSONValue] = []
                for v in values { scalars.append(try scalar(v, place: place)) }
                return .oneOf(scalars)
            default:
                throw WireError("\(place): unknown filter operator \"\(op.prefix(64))\" (supported: eq, in)")
            }
        default:
            return .equals(value)
        }
    }

    static func scalar(_ value: JSONValue, place: String) throws(WireError) -> JSONValue {
        switch value {
        case .array, .object: throw WireError("\(place): filter values are strings, numbers, booleans or null, not \(value.kind)")
        default: return value
        }
    }

    /// A duration such as `"36h"`, `"7d"`, `"90m"`, or a number of hours; in seconds.
    public static func duration(_ value: JSONValue, field: String) throws(WireError) -> TimeInterval {
        var seconds: Double?
        switch value {
        case .number(let n): seconds = n.double * 3600
        case .string(let text):
            let units: [Character: Double] = ["m": 60, "h": 3600, "d": 86_400, "w": 604_800]
            if let unit = text.last.flatMap({ units[$0] }), let amount = Double(text.dropLast()) { seconds = amount * unit }
        default: break
        }
        guard let seconds, seconds > 0, seconds.isFinite, seconds <= 1e11 else {
            throw WireError("\(field) must be a positive duration such as \"36h\", \"7d\" or a number of hours")
        }
        return seconds
    }
}
