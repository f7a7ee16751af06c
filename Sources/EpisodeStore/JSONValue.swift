import Foundation

/// A JSON value, for episode metadata: any JSON object round-trips unchanged.
public enum JSONValue: Sendable, Equatable, Hashable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let b = try? container.decode(Bool.self) { self = .bool(b) }
        else if let n = try? container.decode(Double.self) { self = .number(n) }
        else if let s = try? container.decode(String.self) { self = .string(s) }
        else if let a = try? container.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .number(let n): try container.encode(n)
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }

    /// Converts a `JSONSerialization` value.
    public init?(any value: Any) {
        switch value {
        case is NSNull: self = .null
        case let n as NSNumber:
            // JSONSerialization returns booleans as NSNumber (and `is Bool` also holds for 0 and
            // 1): tell them apart by the boolean's own class.
            if type(of: n) == Self.booleanClass { self = .bool(n.boolValue) } else { self = .number(n.doubleValue) }
        case let s as String: self = .string(s)
        case let a as [Any]:
            var items: [JSONValue] = []
            for item in a { guard let v = JSONValue(any: item) else { return nil }; items.append(v) }
            self = .array(items)
        case let o as [String: Any]:
            var items: [String: JSONValue] = [:]
            for (k, item) in o { guard let v = JSONValue(any: item) else { return nil }; items[k] = v }
            self = .object(items)
        default: return nil
        }
    }

    private static let booleanClass = type(of: NSNumber(value: true))

    /// The value as `JSONSerialization` expects it.
    public var anyValue: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return b
        case .number(let n): return n
        case .string(let s): return s
        case .array(let a): return a.map(\.anyValue)
        case .object(let o): return o.mapValues(\.anyValue)
        }
    }

    /// Compact JSON text with sorted keys.
    public var jsonString: String {
        let data = (try? JSONSerialization.data(withJSONObject: anyValue, options: [.sortedKeys, .fragmentsAllowed])) ?? Data("null".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
