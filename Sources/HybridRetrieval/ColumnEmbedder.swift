import EpisodeStore
import Foundation
import Logging
import TextEmbedding
import VectorSearch

/// An episode of an agent: the key of the vector caches (ids are unique per agent only).
public struct EpisodeKey: Hashable, Sendable, CustomStringConvertible {
    public var agentID: String
    public var episodeID: String

    public init(agentID: String, episodeID: String) {
        self.agentID = agentID
        self.episodeID = episodeID
    }

    public init(_ episode: Episode) { self.init(agentID: episode.agentID, episodeID: episode.id) }

    public var description: String { "\(agentID)/\(episodeID)" }
}

/// A cached vector, with the time its episode's vector was stored: an entry is used only while
/// the episode's row still carries that time, so that no process serves a vector that another
/// process replaced or deleted.
public struct CachedVector: Sendable, Equatable {
    public var vector: [Float]
    public var storedAt: Date?
}

/// One vector column's embedding: its model (loaded on first use, checked against the column)
/// and an LRU of the vectors of recently used episodes.
public final class ColumnEmbedder: Sendable {
    public let column: VectorColumn
    public let model: ColumnModel
    public let cache: LRUCache<EpisodeKey, CachedVector>
    private let logger = Logger(label: "episodic.embeddings")

    /// Where forward passes run when concurrent requests are batched (a server); nil: in the
    /// caller's thread.
    public let batcher: EmbeddingBatcher?

    public init(column: VectorColumn, model: ColumnModel, cacheCapacity: Int, batcher: EmbeddingBatcher? = nil) {
        self.column = column
        self.model = model
        self.batcher = batcher
        cache = LRUCache(capacity: cacheCapacity)
    }

    /// Embeddings of episode texts, in order.
    public func embedPassages(_ texts: [String]) async throws -> [[Float]] {
        let embedder = try model.embedder()
        if let batcher { return try await batcher.embed(texts, as: .passage, with: embedder) }
        return try embedder.embed(texts, as: .passage)
    }

    /// The embedding of a query (with the model's query prompt, e.g. bge's instruction). With a
    /// batcher, `deadline` (uptime nanoseconds) bounds the wait for a forward pass
    /// (``EmbeddingBatcher/DeadlineExceeded``).
    public func embedQuery(_ text: String, deadline: UInt64? = nil) async throws -> [Float] {
        let embedder = try model.embedder()
        if let batcher { return try await batcher.embed([text], as: .query, with: embedder, deadline: deadline)[0] }
        return try embedder.embed(text, as: .query)
    }

    /// The cached vector of `episode`, when the cache holds the one the store holds now (the
    /// episode's cache time for this column must match the entry's).
    public func cachedVector(of episode: Episode) -> [Float]? {
        let storedAt = column.role == .fast ? episode.fastembedCachedAt : episode.embeddingCachedAt
        guard let entry = cache.value(for: EpisodeKey(episode)) else { return nil }
        guard entry.storedAt == storedAt else {
            cache.remove(EpisodeKey(episode))
            return nil
        }
        return entry.vector
    }

    /// Remembers the vector just stored for `key` (at `storedAt`).
    public func remember(_ vector: [Float], for key: EpisodeKey, storedAt: Date?) {
        if let evicted = cache.insert(CachedVector(vector: vector, storedAt: storedAt), for: key) {
            let s = cache.statistics
            logger.trace(
                "lru evicted \(evicted)",
                metadata: [
                    "column": "\(column.name)", "hits": "\(s.hits)", "misses": "\(s.misses)",
                    "evictions": "\(s.evictions)",
                ])
        }
    }

    public func forget(_ key: EpisodeKey) { cache.remove(key) }
}
