import EpisodeStore
import Foundation
import HybridRetrieval

/// JSON shapes of the API (snake_case), shared with the command line's `--json` output.
public enum APIModels {
    public struct EpisodeBody: Codable, Sendable, Equatable {
        public var id: String
        public var agentID: String
        public var content: String
        public var summary: String?
        public var metadata: [String: JSONValue]
        public var createdAt: String
        public var embeddingCached: Bool
        public var embeddingCachedAt: String?
        public var fastembedCached: Bool
        public var fastembedCachedAt: String?

        enum CodingKeys: String, CodingKey {
            case id, content, summary, metadata
            case agentID = "agent_id", createdAt = "created_at", embeddingCached = "embedding_cached"
            case embeddingCachedAt = "embedding_cached_at", fastembedCached = "fastembed_cached", fastembedCachedAt = "fastembed_cached_at"
        }

        public init(_ e: Episode) {
            id = e.id; agentID = e.agentID; content = e.content; summary = e.summary; metadata = e.metadata
            createdAt = Dates.format(e.createdAt)
            embeddingCached = e.embeddingCached; embeddingCachedAt = e.embeddingCachedAt.map(Dates.format)
            fastembedCached = e.fastembedCached; fastembedCachedAt = e.fastembedCachedAt.map(Dates.format)
        }

        // Optionals are written as null, not left out: clients see every field.
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id); try c.encode(agentID, forKey: .agentID); try c.encode(content, forKey: .content)
            try c.encode(summary, forKey: .summary); try c.encode(metadata, forKey: .metadata); try c.encode(createdAt, forKey: .createdAt)
            try c.encode(embeddingCached, forKey: .embeddingCached); try c.encode(embeddingCachedAt, forKey: .embeddingCachedAt)
            try c.encode(fastembedCached, forKey: .fastembedCached); try c.encode(fastembedCachedAt, forKey: .fastembedCachedAt)
        }
    }

    public struct RetrievedBody: Codable, Sendable {
        public var episode: EpisodeBody
        public var stage: String
        public var finalScore: Double
        public var coarseScore: Double
        public var denseScore: Float?
        public var lexicalScore: Double?
        public var rerankScore: Float?

        enum CodingKeys: String, CodingKey {
            case episode, stage
            case finalScore = "final_score", coarseScore = "coarse_score", denseScore = "dense_score"
            case lexicalScore = "lexical_score", rerankScore = "rerank_score"
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(episode, forKey: .episode); try c.encode(stage, forKey: .stage)
            try c.encode(finalScore, forKey: .finalScore); try c.encode(coarseScore, forKey: .coarseScore)
            try c.encode(denseScore, forKey: .denseScore); try c.encode(lexicalScore, forKey: .lexicalScore)
            try c.encode(rerankScore, forKey: .rerankScore)
        }
    }

    public struct TimingsBody: Codable, Sendable {
        public var queryEmbedding, fastEmbedding, qualityEmbedding, coarse, dense, lexical, rerank, total: Double
        enum CodingKeys: String, CodingKey {
            case coarse, dense, lexical, rerank, total
            case queryEmbedding = "query_embedding", fastEmbedding = "fast_embedding", qualityEmbedding = "quality_embedding"
        }
    }

    public struct RetrievalBody: Codable, Sendable {
        public var agentID: String
        public var query: String
        public var results: [RetrievedBody]
        public var timingsMs: TimingsBody
        public var fallbackReason: String?

        enum CodingKeys: String, CodingKey {
            case query, results
            case agentID = "agent_id", timingsMs = "timings_ms", fallbackReason = "fallback_reason"
        }

        public init(_ r: RetrievalResponse, agentID: String, query: String) {
            self.agentID = agentID
            self.query = query
            results = r.results.map {
                RetrievedBody(episode: EpisodeBody($0.episode), stage: $0.stage.rawValue, finalScore: $0.finalScore,
                              coarseScore: $0.coarseScore, denseScore: $0.denseScore, lexicalScore: $0.lexicalScore,
                              rerankScore: $0.rerankScore)
            }
            let t = r.timings
            timingsMs = TimingsBody(queryEmbedding: t.queryEmbeddingMs, fastEmbedding: t.fastEmbeddingMs, qualityEmbedding: t.qualityEmbeddingMs,
                                    coarse: t.coarseMs, dense: t.denseMs, lexical: t.lexicalMs, rerank: t.rerankMs, total: t.totalMs)
            fallbackReason = r.fallbackReason
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(agentID, forKey: .agentID); try c.encode(query, forKey: .query); try c.encode(results, forKey: .results)
            try c.encode(timingsMs, forKey: .timingsMs); try c.encode(fallbackReason, forKey: .fallbackReason)
        }
    }

    /// Sorted-key JSON.
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }
}

/// ISO 8601 with milliseconds, UTC.
public enum Dates {
    public static func format(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }

    /// ISO 8601 (with or without fractional seconds).
    public static func parse(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: text) { return d }
        return ISO8601DateFormatter().date(from: text)
    }
}
