import EpisodicMemory

/// A JSON object of a request or an import line, with typed accessors whose errors name the field
/// (and where it is, e.g. `episodes[3]`).
public struct WireObject: Sendable {
    public let fields: [String: JSONValue]
    /// Where the object is, for messages: `body`, `episodes[3]`, `line 12`.
    public let context: String

    public init(_ value: JSONValue, context: String) throws(WireError) {
        guard let fields = value.objectValue else { throw WireError("\(context) must be a JSON object, got \(value.kind)") }
        self.fields = fields
        self.context = context
    }

    /// Parses `bytes` as one JSON object (depth-limited, exact numbers, no duplicate keys).
    public static func parse<C: Collection<UInt8>>(_ bytes: C, context: String, maxDepth: Int = 64) throws(WireError) -> WireObject {
        let value: JSONValue
        do { value = try JSONParser(maxDepth: maxDepth).parse(bytes) } catch { throw WireError("\(context): \(error)") }
        return try WireObject(value, context: context)
    }

    func name(_ key: String) -> String { context == "body" ? "\"\(key)\"" : "\(context): \"\(key)\"" }

    /// Refuses fields outside `allowed` (a typo such as "top-k" would otherwise be ignored silently).
    public func allowOnly(_ allowed: Set<String>) throws(WireError) {
        if let extra = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw WireError(
                (context == "body" ? "" : "\(context): ")
                    + "unknown field \"\(extra)\"; allowed: \(allowed.sorted().joined(separator: ", "))")
        }
    }

    /// Whether `key` is present and not null.
    public func has(_ key: String) -> Bool { fields[key].map { !$0.isNull } ?? false }

    public func string(_ key: String) throws(WireError) -> String? {
        guard has(key), let value = fields[key] else { return nil }
        guard let s = value.stringValue else { throw WireError("\(name(key)) must be a string, got \(value.kind)") }
        return s
    }

    public func requiredString(_ key: String) throws(WireError) -> String {
        guard let s = try string(key) else { throw WireError("\(name(key)) is required") }
        return s
    }

    public func bool(_ key: String) throws(WireError) -> Bool? {
        guard has(key), let value = fields[key] else { return nil }
        guard case .bool(let b) = value else { throw WireError("\(name(key)) must be true or false, got \(value.kind)") }
        return b
    }

    public func int(_ key: String, range: ClosedRange<Int>) throws(WireError) -> Int? {
        guard has(key), let value = fields[key] else { return nil }
        guard let n = value.numberValue, let int = n.int else {
            throw WireError("\(name(key)) must be an integer, got \(value.kind == "a number" ? value.numberValue!.literal : value.kind)")
        }
        guard range.contains(int) else { throw WireError("\(name(key)) must be in \(range.lowerBound)…\(range.upperBound), got \(int)") }
        return int
    }

    public func number(_ key: String, range: ClosedRange<Double>) throws(WireError) -> Double? {
        guard has(key), let value = fields[key] else { return nil }
        guard let n = value.numberValue else { throw WireError("\(name(key)) must be a number, got \(value.kind)") }
        guard range.contains(n.double) else {
            throw WireError("\(name(key)) must be in \(range.lowerBound)…\(range.upperBound), got \(n.literal)")
        }
        return n.double
    }

    public func object(_ key: String) throws(WireError) -> [String: JSONValue]? {
        guard has(key), let value = fields[key] else { return nil }
        guard let o = value.objectValue else { throw WireError("\(name(key)) must be a JSON object, got \(value.kind)") }
        return o
    }

    public func array(_ key: String) throws(WireError) -> [JSONValue]? {
        guard has(key), let value = fields[key] else { return nil }
        guard let a = value.arrayValue else { throw WireError("\(name(key)) must be an array, got \(value.kind)") }
        return a
    }
}
