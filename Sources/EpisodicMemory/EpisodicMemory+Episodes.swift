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

    /// Adds episodes that may already be stored: an item marked ``NewEpisode/idempotent`` whose
    /// id exists with the same content returns that episode (`created` false; other content is
    /// ``StoreError/conflictingEpisode(_:)``), one marked ``NewEpisode/deduplicate`` returns the
    /// agent's episode with the same normalised content. Decided in the write transaction:
    /// concurrent identical writes store one episode.
    public func insert(_ items: [NewEpisode], quality: QualityEmbeddingMode? = nil) async throws -> [Insertion] {
        try await service.insert(items, qualityMode: quality)
    }

    /// Changes an episode's content, summary or metadata (see ``EpisodePatch``); the vectors of
    /// changed text are recomputed in the same transaction (the quality one per `quality`, see
    /// ``EmbeddingService/update(agentID:id:patch:qualityMode:)``) and cached vectors dropped.
    @discardableResult
    public func update(agentID: String, id: String, patch: EpisodePatch, quality: QualityEmbeddingMode? = nil) async throws -> Episode {
        try await service.update(agentID: agentID, id: id, patch: patch, qualityMode: quality)
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

    /// A page of the agent's episodes passing `filter`, newest first by `order`.
    public func episodes(
        agentID: String, limit: Int = 50, after position: PagePosition? = nil, order: EpisodeOrder = .createdAt,
        filter: EpisodeFilter? = nil
    ) async throws -> EpisodePage {
        guard limit > 0 else { throw RetrievalError.invalidParameter("limit must be positive, got \(limit)") }
        let page = try await store.episodes(agentID: agentID, limit: limit, after: position, order: order, filter: filter)
        return EpisodePage(episodes: page, next: page.count == limit ? page.last.map { PagePosition(after: $0, order: order) } : nil)
    }

    /// Deletes an episode with its vectors, text index entry and cached vectors; returns whether
    /// it existed.
    @discardableResult
    public func delete(agentID: String, id: String) async throws -> Bool {
        let deleted = try await store.delete(agentID: agentID, id: id)
        service.forget(EpisodeKey(agentID: agentID, episodeID: id))
        return deleted
    }

    /// Deletes the agent's episodes that pass `filter` with their vectors, text index entries and
    /// cached vectors, in one transaction; returns how many. A filter is required: forgetting a
    /// whole agent is ``forget(agentID:)``.
    @discardableResult
    public func delete(agentID: String, filter: EpisodeFilter) async throws -> Int {
        guard !filter.isEmpty else {
            throw StoreError.invalidFilter(
                "an empty filter would delete every episode; forget the agent instead (DELETE /agents/{agent_id})")
        }
        let ids = try await store.deleteEpisodes(agentID: agentID, filter: filter)
        for id in ids { service.forget(EpisodeKey(agentID: agentID, episodeID: id)) }
        return ids.count
    }

    /// Forgets an agent: every episode, vector, text index entry, index partition and cached
    /// vector of it, in one transaction; returns how many episodes there were
    /// (``StoreError/unknownAgent(_:)`` when none). Call ``compact()`` afterwards to rewrite the
    /// store's files without the deleted data.
    @discardableResult
    public func forget(agentID: String) async throws -> Int {
        let ids = try await store.deleteEpisodes(agentID: agentID, filter: nil)
        guard !ids.isEmpty else { throw StoreError.unknownAgent(agentID) }
        for id in ids { service.forget(EpisodeKey(agentID: agentID, episodeID: id)) }
        return ids.count
    }

    /// Rewrites the store's files so that deleted episodes leave no trace in them (SQLite: change
    /// log pruned, text index merged, `VACUUM`, WAL truncated; PostgreSQL: `VACUUM`). Takes as
    /// long as copying the store; writers wait meanwhile.
    public func compact() async throws { try await store.compact() }

    /// Every episode of `agentID` (or of every agent), oldest page last, with its stored vectors
    /// when `vectors` is set, handed to `body` a page at a time (`export`).
    public func forEachEpisode(
        agentID: String? = nil, vectors: Bool, pageSize: Int = 500,
        _ body: (Episode, [String: [Float]]?) async throws -> Void
    ) async throws {
        var agents: [String]
        if let agentID { agents = [agentID] } else { agents = try await store.agentEpisodeCounts().keys.sorted() }
        for agent in agents {
            var position: PagePosition?
            repeat {
                let page = try await episodes(agentID: agent, limit: pageSize, after: position)
                var stored: [String: [String: [Float]]] = [:]
                if vectors {
                    for column in store.columns {
                        for (id, vector) in try await store.vectors(
                            column: column.name, agentID: agent, episodeIDs: page.episodes.map(\.id))
                        {
                            stored[id, default: [:]][column.name] = vector
                        }
                    }
                }
                for episode in page.episodes { try await body(episode, vectors ? (stored[episode.id] ?? [:]) : nil) }
                position = page.next
            } while position != nil
        }
    }

    /// Whether the agent has at least one episode.
    public func agentExists(_ agentID: String) async throws -> Bool { try await store.agentExists(agentID) }

    /// Episodes per agent.
    public func agentEpisodeCounts() async throws -> [String: Int] { try await store.agentEpisodeCounts() }
}
