/// An in-memory index of one vector column, partitioned by agent: exact top-k by inner product
/// within one agent's vectors, safe for concurrent readers and writers.
///
/// ```swift
/// let index = VectorIndex(column: VectorColumn(name: "vector_fastembed", role: .fast, dimension: 384, modelID: "m"))
/// try index.upsert(episodeID: "e1", agentID: "a", vector: v)
/// let hits = try index.search(query, agentID: "a", topK: 100)   // best first
/// ```
public final class VectorIndex: @unchecked Sendable {
    public let column: VectorColumn
    private var partitions: [String: AgentPartition] = [:]
    private let lock = ReadWriteLock()

    public init(column: VectorColumn) {
        self.column = column
    }

    /// Vectors in the index.
    public var count: Int { lock.read { partitions.values.reduce(0) { $0 + $1.count } } }

    /// Vectors of `agentID`.
    public func count(agentID: String) -> Int { lock.read { partitions[agentID]?.count ?? 0 } }

    /// Agents with at least one vector, and how many each has.
    public func agentCounts() -> [String: Int] { lock.read { partitions.mapValues(\.count) } }

    public func contains(agentID: String, episodeID: String) -> Bool { lock.read { partitions[agentID]?.contains(episodeID) ?? false } }

    /// The stored vector of an episode, if any.
    public func vector(agentID: String, episodeID: String) -> [Float]? {
        lock.read { partitions[agentID]?.vector(episodeID) }
    }

    /// The inner products of `query` with the stored vectors of some episodes of `agentID`, by
    /// episode id (episodes without a vector are absent): one lock, no vector copied.
    public func scores(of query: [Float], agentID: String, episodeIDs: [String]) throws(VectorError) -> [String: Float] {
        try column.validate(query)
        return query.withUnsafeBufferPointer { q in
            lock.read { partitions[agentID]?.scores(of: q.baseAddress!, ids: episodeIDs) ?? [:] }
        }
    }

    /// Adds or replaces the vector of `episodeID` of `agentID`.
    public func upsert(episodeID: String, agentID: String, vector: [Float]) throws(VectorError) {
        try column.validate(vector)
        lock.write { insertLocked(episodeID, agentID, vector) }
    }

    /// Adds many vectors under one lock (loading a store). Every vector is validated first; on an
    /// error nothing is added.
    public func upsert(_ entries: [(episodeID: String, agentID: String, vector: [Float])]) throws(VectorError) {
        for entry in entries { try column.validate(entry.vector) }
        lock.write { for entry in entries { insertLocked(entry.episodeID, entry.agentID, entry.vector) } }
    }

    /// Makes room for the given number of vectors per agent (before a bulk load).
    public func reserve(vectorsPerAgent counts: [String: Int]) {
        lock.write {
            for (agent, count) in counts {
                partitions[agent, default: AgentPartition(dimension: column.dimension)].reserve(total: count)
            }
        }
    }

    private func insertLocked(_ id: String, _ agent: String, _ vector: [Float]) {
        vector.withUnsafeBufferPointer { v in
            partitions[agent, default: AgentPartition(dimension: column.dimension)].upsert(id, v.baseAddress!)
        }
    }

    /// Removes the vector of an episode; returns whether it was present.
    @discardableResult
    public func remove(agentID: String, episodeID: String) -> Bool {
        lock.write {
            guard partitions[agentID]?.remove(episodeID) == true else { return false }
            if partitions[agentID]?.count == 0 { partitions[agentID] = nil }
            return true
        }
    }

    /// Removes every vector of `agentID`; returns how many there were.
    @discardableResult
    public func removeAgent(_ agentID: String) -> Int {
        lock.write { partitions.removeValue(forKey: agentID)?.count ?? 0 }
    }

    /// Empties the index.
    public func removeAll() {
        lock.write { partitions = [:] }
    }

    /// Takes the contents of `other` (an index of the same column, built aside) in one step:
    /// a search sees the old contents or the new, never a partly loaded index.
    public func replaceContents(with other: VectorIndex) {
        precondition(other.column == column, "replacing an index's contents with another column's")
        let fresh = other.lock.read { other.partitions }
        lock.write { partitions = fresh }
    }

    /// The `topK` vectors of `agentID` with the largest inner product with `query`, best first,
    /// ties by episode id ascending: exactly `min(topK, count(agentID))` results, identical to an
    /// exhaustive float32 scan with ``VectorKernels/dot``.
    public func search(_ query: [Float], agentID: String, topK: Int) throws(VectorError) -> [ScoredEpisode] {
        try search(query, agentID: agentID, topK: topK, restrictedTo: nil)
    }

    /// Which of an agent's vectors a search considers.
    public enum Restriction: Sendable {
        /// Only these episodes.
        case only(Set<String>)
        /// All but these episodes.
        case excluding(Set<String>)
    }

    /// The `topK` best of the vectors the restriction lets through, in the order of the
    /// unrestricted search: exactly `min(topK, vectors let through)` results.
    public func search(_ query: [Float], agentID: String, topK: Int, restrictedTo restriction: Restriction?) throws(VectorError)
        -> [ScoredEpisode]
    {
        try column.validate(query)
        return lock.read {
            guard let partition = partitions[agentID] else { return [] }
            return query.withUnsafeBufferPointer { q in
                let hits =
                    switch restriction {
                    case nil: partition.search(q.baseAddress!, k: topK)
                    case .only(let allowed): partition.search(q.baseAddress!, k: topK, only: allowed)
                    case .excluding(let excluded): partition.search(q.baseAddress!, k: topK, excluding: excluded)
                    }
                return hits.map { ScoredEpisode(episodeID: $0.id, score: $0.score, column: column.name) }
            }
        }
    }
}
