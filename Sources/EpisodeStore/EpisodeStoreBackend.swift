import Foundation
import VectorSearch

/// Where a page of an agent's episodes starts: after the episode with this date (its creation or
/// update time, per the listing's ``EpisodeOrder``) and id — keyset paging, newest first, stable
/// while episodes are added.
public struct PagePosition: Sendable, Hashable {
    public var date: Date
    public var id: String

    public init(date: Date, id: String) {
        self.date = date
        self.id = id
    }

    /// The position just after `episode` in a listing in `order`.
    public init(after episode: Episode, order: EpisodeOrder = .createdAt) {
        self.init(date: order == .createdAt ? episode.createdAt : episode.updatedAt, id: episode.id)
    }
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
    /// The `updatedAt` of the episode whose text was embedded: when set, the vector is stored only
    /// if the episode has not changed since (a background embedding never overwrites the vector
    /// of newer text).
    public var basedOn: Date?

    public init(agentID: String, episodeID: String, vector: [Float], basedOn: Date? = nil) {
        self.agentID = agentID
        self.episodeID = episodeID
        self.vector = vector
        self.basedOn = basedOn
    }

    /// The vector of `episode`'s current text.
    public init(of episode: Episode, vector: [Float]) {
        self.init(agentID: episode.agentID, episodeID: episode.id, vector: vector, basedOn: episode.updatedAt)
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
    /// on any error, none. An idempotent or deduplicating item may find an existing episode
    /// instead (``NewEpisode/idempotent``, ``NewEpisode/deduplicate``) — decided inside the
    /// transaction, so concurrent identical writes add one episode. Returns, in order, each
    /// episode as stored (cache flags set, dates at millisecond precision).
    func insert(_ batch: [NewEpisode]) async throws -> [Insertion]
    /// The episode `id` of `agentID`, if any.
    func episode(agentID: String, id: String) async throws -> Episode?
    /// Episodes of `agentID` by id, in the order of `ids`; unknown ids are skipped.
    func episodes(agentID: String, ids: [String]) async throws -> [Episode]
    /// Episodes of `agentID` passing `filter`, newest first by `order`, at most `limit`, after
    /// `position`.
    func episodes(agentID: String, limit: Int, after position: PagePosition?, order: EpisodeOrder, filter: EpisodeFilter?)
        async throws -> [Episode]
    /// Replaces the text and metadata of the episode `changed.id` of `changed.agentID` — only if
    /// its `updatedAt` is still `expectedUpdatedAt` — in one transaction with its vectors:
    /// `vectors` (column → vector) are stored, the vectors of `staleColumns` removed (their
    /// cache flags cleared), the text index follows. Returns the stored episode (new
    /// `updatedAt`); nil when it no longer exists; ``StoreError/concurrentUpdate(_:)`` when it
    /// changed meanwhile.
    func update(_ changed: Episode, expectedUpdatedAt: Date, vectors: [String: [Float]], staleColumns: [String]) async throws -> Episode?
    /// Deletes an episode with its vectors and text index entry; returns whether it existed.
    func delete(agentID: String, id: String) async throws -> Bool
    /// Deletes the agent's episodes that pass `filter` (every one when nil) with their vectors and
    /// text index entries, in one transaction; an agent left without episodes is forgotten
    /// entirely. Returns the ids deleted.
    func deleteEpisodes(agentID: String, filter: EpisodeFilter?) async throws -> [String]
    /// Rewrites the store so that deleted data no longer occupies its files (SQLite: the change
    /// log pruned, the text index merged, `VACUUM`, the WAL truncated; PostgreSQL: `VACUUM`).
    func compact() async throws
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
    /// The inner products of `vector` with the stored `column` vectors of some episodes of one
    /// agent, by episode id (episodes without a vector are absent): a stage's score of candidates
    /// that another stage found.
    func scores(of vector: [Float], column: String, agentID: String, episodeIDs: [String]) async throws -> [String: Float]
    /// Episodes (oldest first) without a vector in `column`, at most `limit`.
    func episodesMissingVector(column: String, limit: Int) async throws -> [Episode]
    /// Vectors stored in `column` for `agentID` (nil: all agents).
    func vectorCount(column: String, agentID: String?) async throws -> Int
    /// True only when an exact scan of the agent's `column` reads at most `limit` vectors. The
    /// retriever asks on every query, so a store may answer from a cheap upper bound (the agent's
    /// episode count) instead of counting — and then say false for an agent with more episodes
    /// than `limit` but fewer vectors.
    func isSmallForExactScan(column: String, agentID: String, limit: Int) async throws -> Bool

    // MARK: Search

    /// The `topK` episodes of `agentID` whose `column` vector has the largest inner product with
    /// `vector`, best first (ties by id). Throws ``StoreError/unknownAgent(_:)`` for an agent
    /// without episodes.
    /// With a filter: the `topK` of the episodes passing it — exactly `min(topK, passing)` results.
    func similaritySearch(vector: [Float], column: String, topK: Int, agentID: String, filter: EpisodeFilter?) async throws
        -> [ScoredEpisode]
    /// The `topK` episodes of `agentID` (passing `filter`) ranked by full-text relevance to
    /// `query`, best first. Empty when the query has no searchable word.
    func lexicalSearch(query: String, topK: Int, agentID: String, filter: EpisodeFilter?) async throws -> [LexicalHit]
    /// Loads what searches need (in-memory indexes), so that the first search is not slow.
    func prepareForSearch() async throws

    // MARK: API keys

    /// Stores a new key record (its id must be new).
    func insertKey(_ record: APIKeyRecord) async throws
    /// The key with this public id, revoked and expired ones included.
    func key(id: String) async throws -> APIKeyRecord?
    /// Every key, newest first.
    func keys() async throws -> [APIKeyRecord]
    /// Marks a key revoked; returns false when there is no such key (or it was revoked already).
    func revokeKey(id: String, at date: Date) async throws -> Bool
    /// Records a use of the key.
    func touchKey(id: String, at date: Date) async throws

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
    /// From the stored vectors: right for a store that holds them in memory (SQLite's index).
    public func scores(of vector: [Float], column: String, agentID: String, episodeIDs: [String]) async throws -> [String: Float] {
        do { try self.column(named: column).validate(vector) } catch let error as VectorError { throw StoreError.vector(error) }
        return try await vectors(column: column, agentID: agentID, episodeIDs: episodeIDs).mapValues { VectorKernels.dot($0, vector) }
    }

    /// Counts: right for a store whose counts are cheap (SQLite's come from its in-memory index).
    public func isSmallForExactScan(column: String, agentID: String, limit: Int) async throws -> Bool {
        try await vectorCount(column: column, agentID: agentID) <= limit
    }

    /// Checks an episode against ``EpisodeRules`` without storing it.
    public func validate(_ episode: Episode) throws(StoreError) { try EpisodeRules.validate(episode, limits: limits) }

    /// The column called `name`.
    public func column(named name: String) throws(StoreError) -> VectorColumn {
        guard let column = columns.first(where: { $0.name == name }) else { throw .vector(.unknownColumn(name)) }
        return column
    }

    /// The column holding the `role` vectors, if the store has one.
    public func column(role: VectorRole) -> VectorColumn? { columns.first { $0.role == role } }

    /// Adds episodes (see ``insert(_:)``); any existing id is an error.
    @discardableResult
    public func add(_ batch: [NewEpisode]) async throws -> [Episode] { try await insert(batch).map(\.episode) }

    /// Adds one episode (see ``insert(_:)``).
    @discardableResult
    public func add(_ episode: Episode, vectors: [String: [Float]] = [:]) async throws -> Episode {
        try await add([NewEpisode(episode, vectors: vectors)])[0]
    }

    /// Episodes of `agentID`, newest first, at most `limit`, after `position`.
    public func episodes(agentID: String, limit: Int, after position: PagePosition?) async throws -> [Episode] {
        try await episodes(agentID: agentID, limit: limit, after: position, order: .createdAt, filter: nil)
    }

    /// Unfiltered similarity search.
    public func similaritySearch(vector: [Float], column: String, topK: Int, agentID: String) async throws -> [ScoredEpisode] {
        try await similaritySearch(vector: vector, column: column, topK: topK, agentID: agentID, filter: nil)
    }

    /// Unfiltered lexical search.
    public func lexicalSearch(query: String, topK: Int, agentID: String) async throws -> [LexicalHit] {
        try await lexicalSearch(query: query, topK: topK, agentID: agentID, filter: nil)
    }
}

/// The staging column of a re-embedding of `column`.
public enum ReembeddingColumn {
    public static func name(for column: String) -> String { column + "__reembed" }
}
