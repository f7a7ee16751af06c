import EpisodeStore
import Foundation
import HybridRetrieval

/// A page of an agent's episodes, newest first.
public struct EpisodePage: Sendable {
    public var episodes: [Episode]
    /// Where the next page starts; nil on the last page.
    public var next: PagePosition?
}

extension EpisodicMemory {
    /// Adds an episode with its vectors: the fast one in the same transaction, the quality one
    /// per ``Configuration/qualityMode`` (or `quality`).
    @discardableResult
    public func add(_ episode: Episode, quality: QualityEmbeddingMode? = nil) async throws -> Episode {
        try await add([NewEpisode(episode)], quality: quality)[0]
    }

    /// Adds episodes in one transaction: all or none.
    @discardableResult
    public func add(_ episodes: [Episode], quality: QualityEmbeddingMode? = nil) async throws -> [Episode] {
        try await add(episodes.map { NewEpisode($0) }, quality: quality)
    }

    /// Adds episodes with the vectors the caller has (column name → vector); the missing ones are
    /// computed. One transaction: all or none.
    @discardableResult
    public func add(_ items: [NewEpisode], quality: QualityEmbeddingMode? = nil) async throws -> [Episode] {
        try await service.add(items, qualityMode: quality)
    }

    /// Checks an episode against the store's rules without storing it.
    public func validate(_ episode: Episode) throws { try store.validate(episode) }

    /// Checks an episode and the vectors it brings (known columns, dimensions, finite values)
    /// without storing anything.
    public func validate(_ item: NewEpisode) throws {
        try store.validate(item.episode)
        for (name, vector) in item.vectors {
            do { try store.column(named: name).validate(vector) } catch let error as VectorError { throw StoreError.vector(error) }
        }
    }

    /// The stored vectors of an episode, by column name (columns without one are absent).
    public func vectors(agentID: String, id: String) async throws -> [String: [Float]] {
        var found: [String: [Float]] = [:]
        for column in store.columns {
            found[column.name] = try await store.vectors(column: column.name, agentID: agentID, episodeIDs: [id])[id]
        }
        return found
    }

    /// The episode `id` of `agentID`; ``StoreError/episodeNotFound(_:)`` when that agent has none
    /// with this id (another agent's episode is never found).
    public func episode(agentID: String, id: String) async throws -> Episode {
        guard let episode = try await store.episode(agentID: agentID, id: id) else { throw StoreError.episodeNotFound(id) }
        return episode
    }

    /// Which of `ids` the agent already has.
    public func existingIDs(agentID: String, among ids: [String]) async throws -> Set<String> {
        Set(try await store.episodes(agentID: agentID, ids: ids).map(\.id))
    }

    /// A page of the agent's episodes, newest first.
    public func episodes(agentID: String, limit: Int = 50, after position: PagePosition? = nil) async throws -> EpisodePage {
        guard limit > 0 else { throw RetrievalError.invalidParameter("limit must be positive, got \(limit)") }
        let page = try await store.episodes(agentID: agentID, limit: limit, after: position)
        return EpisodePage(episodes: page, next: page.count == limit ? page.last.map(PagePosition.init(after:)) : nil)
    }

    /// Deletes an episode with its vectors, text index entry and cached vectors; returns whether
    /// it existed.
    @discardableResult
    public func delete(agentID: String, id: String) async throws -> Bool {
        let deleted = try await store.delete(agentID: agentID, id: id)
        service.forget(EpisodeKey(agentID: agentID, episodeID: id))
        return deleted
    }

    /// Episodes per agent.
    public func agentEpisodeCounts() async throws -> [String: Int] { try await store.agentEpisodeCounts() }
}
