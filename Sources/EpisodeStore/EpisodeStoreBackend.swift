import Foundation
import VectorSearch

/// Where a page of an agent's episodes starts: after the episode with this creation time and id
/// (keyset paging, newest first — stable while episodes are added).
public struct PagePosition: Sendable, Hashable {
    public var createdAt: Date
    public var id: String

    public init(createdAt: Date, id: String) {
        self.createdAt = createdAt
        self.id = id
    }

    /// The position just after `episode`.
    public init(after episode: Episode) { self.init(createdAt: episode.createdAt, id: episode.id) }
}

/// One hit of a lexical (full-text) search: BM25-style, positive, higher is better.
public struct LexicalHit: Sendable, Equatable {
    public var episodeID: String
    public var score: Double

    public init(episodeID: String, score: Double) {
        self.episodeID = episodeID
        self.score = score
    }
}

/// A vector of one episode of one agent, to store in a column.
public struct EpisodeVector: Sendable {
    public var agentID: String
    public var episodeID: String
    public var vector: [Float]

    public init(agentID: String, episodeID: String, vector: [Float]) {
        self.agentID = agentID
        self.episodeID = episodeID
        self.vector = vector
    }
}

/// Counts and facts about a store.
public struct StoreStats: Sendable, Equatable {
    public struct Column: Sendable, Equatable {
        public var column: VectorColumn
        public var vectors: Int

        public init(column: VectorColumn, vectors: Int) {
            self.column = column
            self.vectors = vectors
        }
    }
    /// The file path, or the database URL without its password.
    public var location: String
    public var backend: String
    public var schemaVersion: String
    public var episodes: Int
    public var agents: Int
    public var columns: [Column]
    /// Bytes on disk (SQLite: the file; PostgreSQL: the tables and indexes).
    public var bytes: Int64

    public init(location: String, backend: String, schemaVersion: String, episodes: Int, agents: Int, columns: [Column], bytes: Int64) {
        self.location = location
        self.backend = backend
        self.schemaVersion = schemaVersion
        self.episodes = episodes
        self.agents = agents
        self.columns = columns
        self.bytes = bytes
    }
}

/// A store of episodes: rows, their vectors per column, and a full-text index, for one or many
/// agents. What the facade, the retrieval pipeline, the server and the command line need; the
/// SQLite store (the embedded default) and the PostgreSQL store conform.
///
/// Rules every backend keeps:
/// - an episode, its vectors and its text index entry are written in one transaction;
/// - everything is validated (``EpisodeRules``, dimensions, NaN/∞) before the database is touched;
/// - every operation is scoped to one agent: an id of another agent's episode is never found;
/// - similarity search returns exactly `min(topK, vectors of that agent in the column)` results.
public protocol EpisodeStoreBackend: AnyObject, Sendable {
    /// The file path, or the database URL without its password (for messages).
    var location: String { get }
    /// The vector columns, as recorded in the store (staging columns of a re-embedding excluded).
    var columns: [VectorColumn] { get }
    /// What the store accepts.
    var limits: EpisodeLimits { get }

    // MARK: Episodes

    /// Adds episodes and their vectors (keyed by column name) in one transaction: all of them or,
    /// on any error, none. Returns them as stored (cache flags set, dates at millisecond precision).
    func add(_ batch: [NewEpisode]) async throws -> [Episode]
    /// The episode `id` of `agentID`, if any.
    func episode(agentID: String, id: String) async throws -> Episode?
    /// Episodes of `agentID` by id, in the order of `ids`; unknown ids are skipped.
    func episodes(agentID: String, ids: [String]) async throws -> [Episode]
    /// Episodes of `agentID`, newest first, at most `limit`, after `position`.
    func episodes(agentID: String, limit: Int, after position: PagePosition?) async throws -> [Episode]
    /// Deletes an episode with its vectors and text index entry; returns whether it existed.
    func delete(agentID: String, id: String) async throws -> Bool
    /// Number of episodes per agent.
    func agentEpisodeCounts() async throws -> [String: Int]
    /// Whether `agentID` has at least one episode.
    func agentExists(_ agentID: String) async throws -> Bool

    // MARK: Vectors

    /// Stores (or replaces) vectors of one column in one transaction and sets the episodes' cache
    /// flags; episodes deleted meanwhile are skipped. Returns how many were stored.
    @discardableResult
    func setVectors(_ vectors: [EpisodeVector], column: String) async throws -> Int
    /// The stored vectors of some episodes of one agent in `column`, by episode id.
    func vectors(column: String, agentID: String, episodeIDs: [String]) async throws -> [String: [Float]]
    /// Episodes (oldest first) without a vector in `column`, at most `limit`.
    func episodesMissingVector(column: String, limit: Int) async throws -> [Episode]
    /// Vectors stored in `column` for `agentID` (nil: all agents).
    func vectorCount(column: String, agentID: String?) async throws -> Int

    // MARK: Search

    /// The `topK` episodes of `agentID` whose `column` vector has the largest inner product with
    /// `vector`, best first (ties by id). Throws ``StoreError/unknownAgent(_:)`` for an agent
    /// without episodes.
    func similaritySearch(vector: [Float], column: String, topK: Int, agentID: String) async throws -> [ScoredEpisode]
    /// The `topK` episodes of `agentID` ranked by full-text relevance to `query`, best first.
    /// Empty when the query has no searchable word.
    func lexicalSearch(query: String, topK: Int, agentID: String) async throws -> [LexicalHit]
    /// Loads what searches need (in-memory indexes), so that the first search is not slow.
    func prepareForSearch() async throws

    // MARK: Columns and maintenance

    /// Starts (or resumes) replacing `column`'s model: a staging column with the new model's
    /// dimension, id and hash receives the new vectors (``setVectors(_:column:)``). Returns it.
    func beginReembedding(of column: String, with replacement: VectorColumn) async throws -> VectorColumn
    /// Swaps the staging column in, in one transaction, once every episode has its vector there;
    /// returns false (changing nothing) while some are missing.
    func finishReembedding(of column: String) async throws -> Bool
    /// Drops a staging column and its vectors.
    func cancelReembedding(of column: String) async throws

    func stats() async throws -> StoreStats
    /// Migrations applied to the store, oldest first.
    func appliedMigrations() async throws -> [String]
    /// Releases connections; the store is unusable afterwards.
    func close() async
}

extension EpisodeStoreBackend {
    /// Checks an episode against ``EpisodeRules`` without storing it.
    public func validate(_ episode: Episode) throws(StoreError) { try EpisodeRules.validate(episode, limits: limits) }

    /// The column called `name`.
    public func column(named name: String) throws(StoreError) -> VectorColumn {
        guard let column = columns.first(where: { $0.name == name }) else { throw .vector(.unknownColumn(name)) }
        return column
    }

    /// The column holding the `role` vectors, if the store has one.
    public func column(role: VectorRole) -> VectorColumn? { columns.first { $0.role == role } }

    /// Adds one episode (see ``add(_:)-(NewEpisode)``).
    @discardableResult
    public func add(_ episode: Episode, vectors: [String: [Float]] = [:]) async throws -> Episode {
        try await add([NewEpisode(episode, vectors: vectors)])[0]
    }
}

/// The staging column of a re-embedding of `column`.
public enum ReembeddingColumn {
    public static func name(for column: String) -> String { column + "__reembed" }
}
