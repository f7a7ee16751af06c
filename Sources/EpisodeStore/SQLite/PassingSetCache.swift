import Synchronization

/// The ids that recent filters let through, kept while nothing is committed to the database.
///
/// A filtered hybrid retrieval asks for the same agent's passing set three times — the dense
/// search, the lexical search and the quality scan — and evaluating a metadata filter reads every
/// row of the agent (10,000 episodes: ~15 ms each time, measured by `episodic-bench retrieve`).
/// An entry is tagged with `PRAGMA data_version` read *before* its rows were, so a commit by any
/// connection or process in between makes the entry unreachable rather than stale.
final class PassingSetCache: Sendable {
    struct Entry {
        var agentID: String
        var filter: EpisodeFilter
        var version: Int64
        var ids: Set<String>
    }

    /// Filters remembered (a server's agents each retrieving with their own filter).
    static let capacity = 8
    /// Ids remembered over all entries (~50 bytes each: ~10 MB); a larger set is not kept, and
    /// the least recently used entries leave to make room.
    static let maximumIDs = 200_000

    private let entries = Mutex<[Entry]>([])

    /// The passing ids of `filter` in `agentID`'s episodes if computed at `version`.
    func ids(agentID: String, filter: EpisodeFilter, version: Int64) -> Set<String>? {
        entries.withLock { entries in
            guard let index = entries.firstIndex(where: { $0.version == version && $0.agentID == agentID && $0.filter == filter })
            else { return nil }
            let entry = entries.remove(at: index)
            entries.append(entry) // most recently used last
            return entry.ids
        }
    }

    /// Remembers a passing set computed from rows read after `version` was.
    func store(agentID: String, filter: EpisodeFilter, version: Int64, ids: Set<String>) {
        guard ids.count <= Self.maximumIDs else { return }
        entries.withLock { entries in
            // Entries of older versions can never be reached again.
            entries.removeAll { $0.version != version || ($0.agentID == agentID && $0.filter == filter) }
            entries.append(Entry(agentID: agentID, filter: filter, version: version, ids: ids))
            var total = entries.reduce(0) { $0 + $1.ids.count }
            while entries.count > Self.capacity || total > Self.maximumIDs {
                total -= entries.removeFirst().ids.count
            }
        }
    }

    /// Ids held over all entries.
    var heldIDs: Int { entries.withLock { $0.reduce(0) { $0 + $1.ids.count } } }
}
