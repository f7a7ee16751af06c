import Foundation
import GRDB

/// One record of something an agent did or saw.
///
/// The text that gets embedded is ``summary`` when present, else ``content``. The cache flags say
/// whether the episode's fast (`vector_fastembed`) and quality (`vector`) vectors are stored, and
/// since when; the store maintains them.
public struct Episode: Sendable, Equatable, Codable {
    public var id: String
    public var agentID: String
    public var content: String
    public var summary: String?
    /// Free-form JSON object.
    public var metadata: [String: JSONValue]
    public var createdAt: Date
    /// Whether the quality vector (`vector`) is stored.
    public var embeddingCached: Bool
    public var embeddingCachedAt: Date?
    /// Whether the fast vector (`vector_fastembed`) is stored.
    public var fastembedCached: Bool
    public var fastembedCachedAt: Date?

    /// A new episode; `id` defaults to a random UUID and `createdAt` to now.
    public init(id: String = UUID().uuidString.lowercased(), agentID: String, content: String, summary: String? = nil,
                metadata: [String: JSONValue] = [:], createdAt: Date = Date()) {
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

    enum CodingKeys: String, CodingKey {
        case id, content, summary, metadata
        case agentID = "agent_id"
        case createdAt = "created_at"
        case embeddingCached = "embedding_cached"
        case embeddingCachedAt = "embedding_cached_at"
        case fastembedCached = "fastembed_cached"
        case fastembedCachedAt = "fastembed_cached_at"
    }
}

extension Episode: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "episodes"

    public init(row: Row) throws {
        id = row["id"]
        agentID = row["agent_id"]
        content = row["content"]
        summary = row["summary"]
        let json: String = row["metadata"]
        metadata = (try? JSONDecoder().decode([String: JSONValue].self, from: Data(json.utf8))) ?? [:]
        createdAt = row["created_at"]
        embeddingCached = row["embedding_cached"]
        embeddingCachedAt = row["embedding_cached_at"]
        fastembedCached = row["fastembed_cached"]
        fastembedCachedAt = row["fastembed_cached_at"]
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["agent_id"] = agentID
        container["content"] = content
        container["summary"] = summary
        container["metadata"] = JSONValue.object(metadata).jsonString
        container["created_at"] = createdAt
        container["embedding_cached"] = embeddingCached
        container["embedding_cached_at"] = embeddingCachedAt
        container["fastembed_cached"] = fastembedCached
        container["fastembed_cached_at"] = fastembedCachedAt
    }
}
