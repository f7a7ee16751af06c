import Foundation

/// A change to an episode's text or metadata (`PATCH`, `episodic update`). Fields left nil stay
/// as they are; an episode keeps its agent, id and creation time.
public struct EpisodePatch: Sendable, Equatable {
    /// How ``metadata`` combines with the stored metadata.
    public enum MetadataMode: String, Sendable, CaseIterable {
        /// Top-level keys are set (a key given `null` is removed); other keys stay (RFC 7386 at the
        /// top level).
        case merge
        /// The given object becomes the metadata.
        case replace
    }

    public var content: String?
    /// `.some(nil)` removes the summary (the content is then what gets embedded).
    public var summary: String??
    public var metadata: [String: JSONValue]?
    public var metadataMode: MetadataMode

    public init(content: String? = nil, summary: String?? = nil, metadata: [String: JSONValue]? = nil, metadataMode: MetadataMode = .merge)
    {
        self.content = content
        self.summary = summary
        self.metadata = metadata
        self.metadataMode = metadataMode
    }

    /// Whether the patch changes nothing at all.
    public var isEmpty: Bool { content == nil && summary == nil && metadata == nil }

    /// `episode` with the patch applied (cache flags and dates are the store's business).
    public func applied(to episode: Episode) -> Episode {
        var changed = episode
        if let content { changed.content = content }
        if let summary { changed.summary = summary }
        if let metadata {
            switch metadataMode {
            case .replace:
                changed.metadata = metadata
            case .merge:
                for (key, value) in metadata {
                    if value == .null { changed.metadata[key] = nil } else { changed.metadata[key] = value }
                }
            }
        }
        return changed
    }
}
