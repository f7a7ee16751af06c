import Foundation

/// Which of an agent's episodes a retrieval, a listing or a deletion considers. Every condition
/// must hold. Stores apply it *before* the top-k of each stage, so a selective filter never makes
/// a result list short.
///
/// ```swift
/// var filter = EpisodeFilter()
/// filter.metadata["tool"] = .equals("flights")
/// filter.metadata["status"] = .oneOf(["open", "done"])
/// filter.createdAfter = Date().addingTimeInterval(-7 * 86_400)
/// ```
public struct EpisodeFilter: Sendable, Equatable {
    /// A condition on one top-level metadata key. Values are JSON scalars (string, number,
    /// boolean, null); numbers compare by value (`1` equals `1.0`), strings byte for byte. A key
    /// the episode does not have matches nothing — not even `null`, which matches an explicit null.
    public enum Condition: Sendable, Equatable {
        case equals(JSONValue)
        /// Any of the values (an empty list matches nothing).
        case oneOf([JSONValue])

        /// The values the condition accepts.
        public var values: [JSONValue] {
            switch self {
            case .equals(let value): [value]
            case .oneOf(let values): values
            }
        }
    }

    /// Conditions on top-level metadata keys.
    public var metadata: [String: Condition] = [:]
    /// Only episodes created strictly after this instant.
    public var createdAfter: Date?
    /// Only episodes created strictly before this instant.
    public var createdBefore: Date?
    /// Episodes to leave out.
    public var excludedIDs: Set<String> = []

    public init(
        metadata: [String: Condition] = [:], createdAfter: Date? = nil, createdBefore: Date? = nil, excludedIDs: Set<String> = []
    ) {
        self.metadata = metadata
        self.createdAfter = createdAfter
        self.createdBefore = createdBefore
        self.excludedIDs = excludedIDs
    }

    /// Whether the filter lets every episode through.
    public var isEmpty: Bool { metadata.isEmpty && createdAfter == nil && createdBefore == nil && excludedIDs.isEmpty }

    /// Whether the filter holds anything but excluded ids (which a vector index can apply by
    /// over-fetching, without reading rows).
    public var needsRows: Bool { !metadata.isEmpty || createdAfter != nil || createdBefore != nil }

    /// Limits that keep one filter's SQL bounded.
    public static let maximumMetadataKeys = 32
    public static let maximumValuesPerKey = 1000
    public static let maximumExcludedIDs = 10_000

    /// Checks the limits and that every value is a scalar; the message names what to fix.
    public func validate() throws(StoreError) {
        guard metadata.count <= Self.maximumMetadataKeys else {
            throw .invalidFilter("\(metadata.count) metadata keys in one filter, over the limit of \(Self.maximumMetadataKeys)")
        }
        for (key, condition) in metadata {
            guard !key.isEmpty else { throw .invalidFilter("a metadata key in a filter must not be empty") }
            guard condition.values.count <= Self.maximumValuesPerKey else {
                throw .invalidFilter(
                    "metadata key \"\(key)\": \(condition.values.count) values, over the limit of \(Self.maximumValuesPerKey)")
            }
            for value in condition.values {
                switch value {
                case .array, .object:
                    throw .invalidFilter(
                        "metadata key \"\(key)\": filter values are strings, numbers, booleans or null, not \(value.kind)")
                default: break
                }
            }
        }
        guard excludedIDs.count <= Self.maximumExcludedIDs else {
            throw .invalidFilter("\(excludedIDs.count) excluded ids, over the limit of \(Self.maximumExcludedIDs)")
        }
        if let after = createdAfter, let before = createdBefore, after >= before {
            throw .invalidFilter(
                "created_after (\(EpisodeTime.rfc3339(after))) is not before created_before (\(EpisodeTime.rfc3339(before)))")
        }
    }

    /// Whether `episode` passes: the reference semantics every store's SQL implements.
    public func matches(_ episode: Episode) -> Bool {
        if excludedIDs.contains(episode.id) { return false }
        let created = EpisodeTime.milliseconds(of: episode.createdAt)
        if let after = createdAfter, created <= EpisodeTime.milliseconds(of: after) { return false }
        if let before = createdBefore, created >= EpisodeTime.milliseconds(of: before) { return false }
        for (key, condition) in metadata {
            guard let value = episode.metadata[key], condition.values.contains(where: { Self.scalar(value, equals: $0) }) else {
                return false
            }
        }
        return true
    }

    /// Scalar equality as the stores compare: numbers by value, strings byte for byte.
    static func scalar(_ a: JSONValue, equals b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x.isNumericallyEqual(to: y)
        case (.string(let x), .string(let y)): return x.utf8.elementsEqual(y.utf8)
        default: return false
        }
    }
}

/// The order of a listing of episodes (newest first either way, ties by id).
public enum EpisodeOrder: String, Sendable, CaseIterable {
    case createdAt = "created_at"
    case updatedAt = "updated_at"
}
