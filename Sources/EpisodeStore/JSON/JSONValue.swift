/// A JSON value, for episode metadata and the wire format: any JSON text this project accepts
/// reads back unchanged — numbers keep their literal (`9007199254740993` and `-0.0` stay what
/// they were, which a `Double` cannot promise), objects keep every key.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The string, when this is one.
    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    /// The number, when this is one.
    public var numberValue: JSONNumber? { if case .number(let n) = self { n } else { nil } }
    /// The members, when this is an object.
    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { o } else { nil } }
    /// The elements, when this is an array.
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    public var isNull: Bool { self == .null }

    /// The kind of value, for error messages ("must be a string, got a number").
    public var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// How deeply arrays and objects nest inside this value (a scalar is 0, `[]` is 1).
    public var depth: Int {
        switch self {
        case .array(let items): 1 + (items.map(\.depth).max() ?? 0)
        case .object(let members): 1 + (members.values.map(\.depth).max() ?? 0)
        default: 0
        }
    }

    /// Whether two values are equal as JSON data: numbers by value (`1`, `1.0` and `1e0` are the
    /// same number), everything else structurally. Metadata filters compare this way.
    public func isEquivalent(to other: JSONValue) -> Bool {
        switch (self, other) {
        case (.number(let a), .number(let b)): return a.isNumericallyEqual(to: b)
        case (.array(let a), .array(let b)): return a.count == b.count && zip(a, b).allSatisfy { $0.isEquivalent(to: $1) }
        case (.object(let a), .object(let b)):
            return a.count == b.count && a.allSatisfy { key, value in b[key].map { value.isEquivalent(to: $0) } ?? false }
        default: return self == other
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
    public init(floatLiteral value: Double) { self = .number(JSONNumber(value)!) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}

/// A JSON number, kept as its literal so that it round-trips exactly.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral {
    /// The number as JSON text, e.g. `-0.0`, `12`, `6.02e23` (RFC 8259's number grammar).
    public let literal: String

    /// A number from its JSON literal; nil when `literal` is not a JSON number or its magnitude
    /// is beyond a `Double` (such a number could be stored but not compared or searched).
    public init?(literal: String) {
        guard JSONNumber.isValidLiteral(literal.utf8), let value = Double(literal), value.isFinite else { return nil }
        self.literal = literal
    }

    /// The number written as Swift's shortest round-tripping form; nil for NaN and ±∞, which JSON
    /// cannot express.
    public init?(_ value: Double) {
        guard value.isFinite else { return nil }
        literal = "\(value)"
    }

    public init(_ value: Int) { literal = "\(value)" }
    public init(integerLiteral value: Int) { self.init(value) }
    public init(floatLiteral value: Double) { self.init(value)! }

    /// The nearest `Double`.
    public var double: Double { Double(literal) ?? .nan }
    /// The value as an `Int`, when the literal is an integer that fits.
    public var int: Int? { Int(literal) }
    public var description: String { literal }

    /// Equal as numbers (`1` and `1.0`): exact for integers that fit in 64 bits, else by `Double`.
    public func isNumericallyEqual(to other: JSONNumber) -> Bool {
        if literal == other.literal { return true }
        if let a = Int64(literal), let b = Int64(other.literal) { return a == b }
        return double == other.double
    }

    /// RFC 8259: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    static func isValidLiteral<C: Collection<UInt8>>(_ bytes: C) -> Bool {
        var i = bytes.startIndex
        func at(_ index: C.Index) -> UInt8? { index < bytes.endIndex ? bytes[index] : nil }
        func isDigit(_ b: UInt8?) -> Bool { b.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
        if at(i) == UInt8(ascii: "-") { i = bytes.index(after: i) }
        guard let first = at(i), isDigit(first) else { return false }
        i = bytes.index(after: i)
        if first != UInt8(ascii: "0") { while isDigit(at(i)) { i = bytes.index(after: i) } }
        if at(i) == UInt8(ascii: ".") {
            i = bytes.index(after: i)
            guard isDigit(at(i)) else { return false }
            while isDigit(at(i)) { i = bytes.index(after: i) }
        }
        if at(i) == UInt8(ascii: "e") || at(i) == UInt8(ascii: "E") {
            i = bytes.index(after: i)
            if at(i) == UInt8(ascii: "+") || at(i) == UInt8(ascii: "-") { i = bytes.index(after: i) }
            guard isDigit(at(i)) else { return false }
            while isDigit(at(i)) { i = bytes.index(after: i) }
        }
        return i == bytes.endIndex
    }
}
