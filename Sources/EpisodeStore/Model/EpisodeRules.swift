/// What a store accepts: every value that enters a store is one it can read back unchanged.
public struct EpisodeLimits: Sendable, Equatable {
    /// Largest `content` or `summary`, in UTF-8 bytes.
    public var maxTextBytes: Int
    /// Largest episode or agent id, in UTF-8 bytes.
    public var maxIdentifierBytes: Int
    /// Deepest nesting of arrays and objects inside `metadata` (the object itself is level 1).
    public var maxMetadataDepth: Int
    /// Largest `metadata`, as compact JSON, in UTF-8 bytes.
    public var maxMetadataBytes: Int

    public init(
        maxTextBytes: Int = 1 << 20, maxIdentifierBytes: Int = 256, maxMetadataDepth: Int = 32,
        maxMetadataBytes: Int = 64 << 10
    ) {
        self.maxTextBytes = maxTextBytes
        self.maxIdentifierBytes = maxIdentifierBytes
        self.maxMetadataDepth = maxMetadataDepth
        self.maxMetadataBytes = maxMetadataBytes
    }
}

/// The rules every backend applies before it touches its database.
public enum EpisodeRules {
    /// Throws ``StoreError/invalidEpisode(id:reason:)`` or ``StoreError/textTooLarge`` unless
    /// `episode` can be stored and read back unchanged.
    public static func validate(_ episode: Episode, limits: EpisodeLimits) throws(StoreError) {
        func bad(_ reason: String) -> StoreError { .invalidEpisode(id: episode.id, reason: reason) }
        if let problem = identifierProblem(episode.id, limits: limits) { throw bad("id \(problem)") }
        if let problem = identifierProblem(episode.agentID, limits: limits) { throw bad("agent_id \(problem)") }
        try checkText(episode.content, field: "content", id: episode.id, limits: limits)
        if let summary = episode.summary { try checkText(summary, field: "summary", id: episode.id, limits: limits) }
        if !EpisodeTime.isInRange(episode.createdAt) { throw bad("created_at is outside \(EpisodeTime.rangeDescription)") }
        try checkMetadata(episode.metadata, id: episode.id, limits: limits)
    }

    /// Why `value` cannot be an episode or agent id, or nil when it can.
    public static func identifierProblem(_ value: String, limits: EpisodeLimits = .init()) -> String? {
        if value.isEmpty { return "is empty" }
        if value.utf8.count > limits.maxIdentifierBytes { return "is longer than \(limits.maxIdentifierBytes) bytes" }
        if value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return "contains control characters (NUL, newline, …)"
        }
        if value.unicodeScalars.first?.properties.isWhitespace == true || value.unicodeScalars.last?.properties.isWhitespace == true {
            return "starts or ends with whitespace"
        }
        return nil
    }

    /// Content and summary: not empty, no NUL (SQLite's C strings would end there), within the limit.
    public static func checkText(_ text: String, field: String, id: String, limits: EpisodeLimits) throws(StoreError) {
        if text.unicodeScalars.contains("\u{0}") {
            throw .invalidEpisode(id: id, reason: "\(field) contains a NUL character (\\u0000); remove it")
        }
        if text.allSatisfy(\.isWhitespace) {
            throw .invalidEpisode(id: id, reason: field == "summary" ? "summary is empty (omit it instead)" : "\(field) is empty")
        }
        let bytes = text.utf8.count
        if bytes > limits.maxTextBytes { throw .textTooLarge(id: id, field: field, bytes: bytes, limit: limits.maxTextBytes) }
    }

    /// Metadata: bounded depth and size, keys without NUL.
    public static func checkMetadata(_ metadata: [String: JSONValue], id: String, limits: EpisodeLimits) throws(StoreError) {
        let value = JSONValue.object(metadata)
        if value.depth > limits.maxMetadataDepth {
            throw .invalidEpisode(id: id, reason: "metadata nests \(value.depth) levels deep, over the limit of \(limits.maxMetadataDepth)")
        }
        if let key = firstKeyWithNUL(value) {
            throw .invalidEpisode(id: id, reason: "metadata key \(key.debugDescription) contains a NUL character")
        }
        let bytes = value.jsonText.utf8.count
        if bytes > limits.maxMetadataBytes {
            throw .invalidEpisode(id: id, reason: "metadata is \(bytes) bytes of JSON, over the limit of \(limits.maxMetadataBytes)")
        }
    }

    private static func firstKeyWithNUL(_ value: JSONValue) -> String? {
        switch value {
        case .object(let members):
            for (key, member) in members {
                if key.unicodeScalars.contains("\u{0}") { return key }
                if let found = firstKeyWithNUL(member) { return found }
            }
            return nil
        case .array(let items):
            for item in items { if let found = firstKeyWithNUL(item) { return found } }
            return nil
        default:
            return nil
        }
    }
}
