import EpisodeStore
import Foundation
import HybridRetrieval
import VectorSearch

/// A hit of a single-stage search, with its episode.
public struct SearchHit: Sendable {
    public var episode: Episode
    /// Inner product (vector search) or full-text relevance (lexical search).
    public var score: Double
}

extension EpisodicMemory {
    /// Hybrid retrieval (see ``HybridRetriever``).
    public func retrieve(agentID: String, query: String, options: RetrievalOptions = .init()) async throws -> RetrievalResponse {
        try await retriever.retrieve(agentID: agentID, query: query, options: options)
    }

    /// Fast-vector search only: the A/B baseline.
    public func retrieveBaseline(agentID: String, query: String, topK: Int = 10, filter: EpisodeFilter? = nil) async throws
        -> RetrievalResponse
    {
        try await retriever.retrieveBaseline(agentID: agentID, query: query, topK: topK, filter: filter)
    }

    /// The top-k of one vector column for a text (embedded as a query with the column's model).
    public func search(agentID: String, column: String, query: String, topK: Int) async throws -> [SearchHit] {
        let target = try store.column(named: column)
        guard let embedder = service.embedder(target.role), embedder.column.name == target.name else {
            throw RetrievalError.noColumn(role: target.role.rawValue)
        }
        return try await search(agentID: agentID, column: column, vector: try await embedder.embedQuery(query), topK: topK)
    }

    /// The top-k of one vector column for a vector of its dimension (exact).
    public func search(agentID: String, column: String, vector: [Float], topK: Int) async throws -> [SearchHit] {
        guard topK > 0 else { throw RetrievalError.invalidParameter("top_k must be positive, got \(topK)") }
        let hits = try await store.similaritySearch(vector: vector, column: column, topK: topK, agentID: agentID)
        return try await withEpisodes(hits.map { ($0.episodeID, Double($0.score)) }, agentID: agentID)
    }

    /// The top-k by full-text relevance alone (the lexical stage).
    public func lexicalSearch(agentID: String, query: String, topK: Int) async throws -> [SearchHit] {
        guard topK > 0 else { throw RetrievalError.invalidParameter("top_k must be positive, got \(topK)") }
        guard !query.allSatisfy(\.isWhitespace) else { throw RetrievalError.emptyQuery }
        let hits = try await store.lexicalSearch(query: query, topK: topK, agentID: agentID)
        return try await withEpisodes(hits.map { ($0.episodeID, $0.score) }, agentID: agentID)
    }

    private func withEpisodes(_ hits: [(String, Double)], agentID: String) async throws -> [SearchHit] {
        let episodes = Dictionary(
            try await store.episodes(agentID: agentID, ids: hits.map(\.0)).map { ($0.id, $0) },
            uniquingKeysWith: { a, _ in a })
        return hits.compactMap { id, score in episodes[id].map { SearchHit(episode: $0, score: score) } }
    }
}
