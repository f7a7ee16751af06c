import Foundation
import VectorSearch

/// One record of something an agent did or saw.
///
/// The text that gets embedded is ``summary`` when present, else ``content``. The cache flags say
/// whether the episode's fast (`vector_fastembed`) and quality (`vector`) vectors are stored, and
/// since when; the store maintains them. An episode's `id` is unique within its agent.
public struct Episode: Sendable, Equatable {
    public var id: String
    public var agentID: String
    public var content: String
    public var summary: String?
    /// Free-form JSON object (top-level keys are what retrieval filters match).
    public var metadata: [String: JSONValue]
    /// Kept to the millisecond, within ``EpisodeTime/rangeDescription``.
    public var createdAt: Date
    /// When the text or metadata last changed (the creation time until then); set by the store.
    public var updatedAt: Date
    /// Whether the quality vector (`vector`) is stored.
    public var embeddingCached: Bool
    public var embeddingCachedAt: Date?
    /// Whether the fast vector (`vector_fastembed`) is stored.
    public var fastembedCached: Bool
    public var fastembedCachedAt: Date?

    /// A new episode; `id` defaults to a random UUID and `createdAt` to now.
    public init(
        id: String = UUID().uuidString.lowercased(), agentID: String, content: String, summary: String? = nil,
        metadata: [String: JSONValue] = [:], createdAt: Date = Date()
    ) {
        self.id = id
        self.agentID = agentID
        self.content = content
        self.summary = summary
        self.metadata = metadata
        self.createdAt = createdAt
        self.updatedAt = createdAt
        self.embeddingCached = false
        self.embeddingCachedAt = nil
        self.fastembedCached = false
        self.fastembedCachedAt = nil
    }

    /// The text embedded for this episode: the summary when there is one, else the content.
    public var embeddedText: String { summary ?? content }
}

/// An episode to add, with the vectors the caller already has (column name → vector); the
/// missing ones are computed.
public struct NewEpisode: Sendable {
    public var episode: Episode
    public var vectors: [String: [Float]]
    /// When the agent already has an episode with this id: with the same content, summary and
    /// metadata it is returned (`created` false) — a retried write; otherwise the write fails
    /// with ``StoreError/conflictingEpisode(_:)``. Off: any existing id is
    /// ``StoreError/duplicateEpisode(_:)``.
    public var idempotent: Bool
    /// Return the agent's existing episode whose normalised content is identical
    /// (``TextFingerprint``) instead of adding another.
    public var deduplicate: Bool

    public init(_ episode: Episode, vectors: [String: [Float]] = [:], idempotent: Bool = false, deduplicate: Bool = false) {
        self.episode = episode
        self.vectors = vectors
        self.idempotent = idempotent
        self.deduplicate = deduplicate
    }
}

/// What a write did with one ``NewEpisode``.
public struct Insertion: Sendable, Equatable {
    /// The episode as stored: the new one, or the existing one a retried or duplicate write found.
    public var episode: Episode
    /// Whether this write added it.
    public var created: Bool

    public init(episode: Episode, created: Bool) {
        self.episode = episode
        self.created = created
    }
}

extension Episode {
    /// Sets the cache flag of `role`'s vector: stored since `date`, or not stored (nil).
    public mutating func setVectorCached(_ role: VectorRole, at date: Date?) {
        switch role {
        case .fast: fastembedCached = date != nil; fastembedCachedAt = date
        case .quality: embeddingCached = date != nil; embeddingCachedAt = date
        }
    }

    /// Whether `other` holds the same text and metadata (what makes a retried write the same).
    public func hasSameContent(as other: Episode) -> Bool {
        content.utf8.elementsEqual(other.content.utf8) && summary == other.summary
            && JSONValue.object(metadata).isEquivalent(to: .object(other.metadata))
    }
}
