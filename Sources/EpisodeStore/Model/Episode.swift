import Foundation

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

    public init(_ episode: Episode, vectors: [String: [Float]] = [:]) {
        self.episode = episode
        self.vectors = vectors
    }
}
