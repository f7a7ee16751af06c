import Dispatch
import Synchronization

/// The agents' postings this process keeps in memory (``AgentPostings``), within a byte budget,
/// least recently searched agents leaving first.
///
/// Exactness comes from the database: every change to an agent's indexed text gives the agent a
/// new random `lexical_version` in the same transaction (schema v8), and a search reads that
/// version in the transaction it searches in. Postings of another version are never used — the
/// search goes to FTS5 instead, which is always current.
///
/// Loading an agent's postings costs about as much as 20–40 FTS5 searches (65–111 ms at 10,000
/// episodes, 0.8–1.2 s at 100,000), so it runs off the request path, on a background queue, and only
/// once the agent looks quiet: after two consecutive searches at the same version. A load whose
/// postings went stale before answering ``paysOff`` searches doubles the quiet streak that agent
/// needs next time (up to 64); one that paid off resets it. An agent written between every search
/// keeps FTS5 and soon costs no loads — unless it is this process that writes: its writes are
/// applied to the postings it holds (``apply(_:agentSeq:agentID:from:to:)``), at the version
/// they committed, so that an agent's write-then-recall loop keeps its postings.
final class LexicalMemoryIndex: Sendable {
    /// What a search may use.
    enum Lookup {
        /// The agent's postings, current.
        case fresh(AgentPostings)
        /// None current; `load` says whether the caller is to load them (it then must call
        /// ``finishLoading(agentSeq:postings:)``, and has entered ``pending``).
        case stale(load: Bool)
    }

    private struct State {
        var entries: [Int64: AgentPostings] = [:]
        /// Least recently used first.
        var order: [Int64] = []
        var bytes = 0
        /// Searches answered by each held entry.
        var uses: [Int64: Int] = [:]
        /// Per agent: the version its last search saw and how many searches in a row saw it.
        var streaks: [Int64: (version: Int64, searches: Int)] = [:]
        /// Per agent: the streak a load waits for (2 unless loads went to waste).
        var quietNeeded: [Int64: Int] = [:]
        /// Per agent: bytes per token of its last load (estimates before a load can be low).
        var bytesPerToken: [Int64: Double] = [:]
        var loading: Set<Int64> = []
        /// This process's edits of agents whose load is in flight (``apply(_:agentSeq:agentID:from:to:)``
        /// found no postings yet), in the order they were applied: the load's postings take those
        /// that follow their version.
        var editsDuringLoads: [Int64: [(from: Int64, to: Int64, edit: AgentPostings.Edit)]] = [:]
        var closed = false
        var served = 0
        var loadsCompleted = 0
        var edited = 0

        /// Keeps `postings` if they fit `budget`, making room by dropping the least recently used
        /// agents; returns whether they were kept.
        mutating func keep(_ postings: AgentPostings, agentSeq: Int64, budget: Int) -> Bool {
            bytesPerToken[agentSeq] = Double(postings.bytes) / Double(max(1, postings.tokens))
            guard !closed, postings.bytes <= budget else { return false }
            drop(agentSeq)
            while bytes + postings.bytes > budget, let evicted = order.first { drop(evicted) }
            entries[agentSeq] = postings
            order.append(agentSeq)
            bytes += postings.bytes
            return true
        }

        mutating func drop(_ agentSeq: Int64) {
            guard let entry = entries.removeValue(forKey: agentSeq) else { return }
            bytes -= entry.bytes
            order.removeAll { $0 == agentSeq }
            uses[agentSeq] = nil
        }
    }

    /// Searches a load must answer to count as worth its cost.
    static let paysOff = 16
    /// Agents whose streaks are remembered; beyond, the memory restarts.
    static let rememberedAgents = 65_536

    /// Bytes of postings kept at most (0: none, every search uses FTS5).
    let budget: Int
    /// Entered for every load in flight (``close()`` waits for them).
    let pending = DispatchGroup()
    /// Where loads run, one at a time: agents turning quiet together take one core and one
    /// reader connection, not one each.
    let loads = DispatchQueue(label: "episodic.lexical-postings", qos: .utility)
    private let state = Mutex(State())

    init(budget: Int) { self.budget = budget }

    /// The postings of `agentID`, numbered `agentSeq`, at `version`. The agent's counts of
    /// `episodes` and `tokens` keep agents whose postings would not fit the budget from being
    /// loaded (estimated, then as measured by the agent's last load).
    func lookup(agentSeq: Int64, agentID: String, version: Int64, episodes: Int64, tokens: Int64) -> Lookup {
        state.withLock { state in
            if let entry = state.entries[agentSeq] {
                if entry.version == version && entry.agentID == agentID {
                    if state.order.last != agentSeq {
                        state.order.removeAll { $0 == agentSeq }
                        state.order.append(agentSeq)
                    }
                    state.uses[agentSeq, default: 0] += 1
                    state.served += 1
                    return .fresh(entry)
                }
                // A search reading from before this process's last write, which the postings
                // already follow: not for it, but not stale either.
                if entry.previousVersion == version && entry.agentID == agentID { return .stale(load: false) }
                // Stale for good (versions never repeat): judge the load, free the memory.
                let needed = state.quietNeeded[agentSeq] ?? 2
                state.quietNeeded[agentSeq] = (state.uses[agentSeq] ?? 0) < Self.paysOff ? min(64, needed * 2) : 2
                state.drop(agentSeq)
            }
            if state.streaks.count >= Self.rememberedAgents { state.streaks.removeAll() }
            if state.quietNeeded.count >= Self.rememberedAgents { state.quietNeeded.removeAll() }
            if state.bytesPerToken.count >= Self.rememberedAgents { state.bytesPerToken.removeAll() }
            let estimatedBytes = max(
                Double(tokens) * 8 + Double(episodes) * 64, Double(tokens) * (state.bytesPerToken[agentSeq] ?? 0))
            var streak = state.streaks[agentSeq] ?? (version, 0)
            streak = streak.version == version ? (version, streak.searches + 1) : (version, 1)
            state.streaks[agentSeq] = streak
            guard streak.searches >= state.quietNeeded[agentSeq] ?? 2, !state.closed, estimatedBytes <= Double(budget),
                !state.loading.contains(agentSeq)
            else { return .stale(load: false) }
            state.loading.insert(agentSeq)
            pending.enter()
            return .stale(load: true)
        }
    }

    /// Ends a load ``lookup(agentSeq:agentID:version:episodes:tokens:)`` asked for; keeps `postings` (nil
    /// when the load failed) if they fit, making room by dropping the least recently used.
    /// Edits this process made while the load ran are applied first, those that follow the
    /// version it read (the others it read already, or they went to another version).
    func finishLoading(agentSeq: Int64, postings: AgentPostings?) {
        state.withLock { state in
            state.loading.remove(agentSeq)
            state.loadsCompleted += 1
            var edits = state.editsDuringLoads.removeValue(forKey: agentSeq) ?? []
            guard var current = postings else { return }
            while let next = edits.firstIndex(where: { $0.from == current.version }) {
                let (_, version, edit) = edits.remove(at: next)
                guard current.edits.count + edit.removed.count + edit.added.count <= Self.maximumEdits,
                    let edited = current.applying(edit, version: version)
                else { break }
                current = edited
                state.edited += edit.removed.count + edit.added.count
            }
            _ = state.keep(current, agentSeq: agentSeq, budget: budget)
        }
        pending.leave()
    }

    /// Keeps `postings` if they fit the budget, making room by dropping the least recently used
    /// agents; returns whether they were kept.
    @discardableResult
    func keep(_ postings: AgentPostings, agentSeq: Int64) -> Bool {
        state.withLock { state in state.keep(postings, agentSeq: agentSeq, budget: budget) }
    }

    /// Applies this process's own write `edit` to the postings of `agentSeq` (`agentID`) if they
    /// are held at `version`, the agent's version before the writing transaction; `newVersion` is
    /// the one it committed. Returns whether they were edited; if not (not held, another write
    /// came between, or too many edits since the load), the next search finds them stale as
    /// after any other write.
    @discardableResult
    func apply(_ edit: AgentPostings.Edit, agentSeq: Int64, agentID: String, from version: Int64, to newVersion: Int64) -> Bool {
        let held = state.withLock { state -> AgentPostings? in
            if state.entries[agentSeq] == nil, state.loading.contains(agentSeq) {
                state.editsDuringLoads[agentSeq, default: []].append((version, newVersion, edit))
            }
            return state.entries[agentSeq]
        }
        guard let held, held.version == version, held.agentID == agentID,
            held.edits.count + edit.removed.count + edit.added.count <= Self.maximumEdits,
            // Built outside the lock (it copies the agent's token counts); swapped in only if
            // nothing replaced the entry meanwhile.
            let edited = held.applying(edit, version: newVersion)
        else { return false }
        return state.withLock { state in
            guard !state.closed, let current = state.entries[agentSeq], current === held,
                state.bytes - held.bytes + edited.bytes <= budget
            else { return false }
            state.entries[agentSeq] = edited
            state.bytes += edited.bytes - held.bytes
            state.edited += edit.removed.count + edit.added.count
            return true
        }
    }

    /// This process's own insert moved `agentSeq` from `version` to `newVersion`: a quiet streak
    /// at `version` goes on at `newVersion` (postings loaded then can take the next inserts), so
    /// that an agent that writes and searches in turn through this process gets its postings
    /// loaded too.
    func carryStreak(agentSeq: Int64, from version: Int64, to newVersion: Int64) {
        state.withLock { state in
            guard let streak = state.streaks[agentSeq], streak.version == version else { return }
            state.streaks[agentSeq] = (newVersion, streak.searches)
        }
    }

    /// Whether postings of `agentSeq` at `version` are held, or being loaded (a writer then
    /// records its edits).
    func follows(agentSeq: Int64, version: Int64) -> Bool {
        state.withLock { $0.entries[agentSeq]?.version == version || $0.loading.contains(agentSeq) }
    }

    /// Episodes added to or removed from loaded postings before a reload is left to do the work:
    /// edited postings are looser in memory than loaded ones (and each write copies their table
    /// of added terms), and a reload compacts them.
    static let maximumEdits = 4_096

    /// Bytes of postings held now.
    var bytes: Int { state.withLock { $0.bytes } }
    /// Agents whose postings are held now.
    var agents: Int { state.withLock { $0.entries.count } }
    /// Searches that found their agent's postings current so far.
    var served: Int { state.withLock { $0.served } }
    /// Loads finished so far (kept or not).
    var loadsCompleted: Int { state.withLock { $0.loadsCompleted } }
    /// Episodes this process's own writes added to or removed from held postings so far (a
    /// rewritten episode counts twice).
    var edited: Int { state.withLock { $0.edited } }

    /// Starts no more loads, drops the postings, and returns once the loads in flight are done.
    func close() async {
        state.withLock { state in
            state.closed = true
            state.editsDuringLoads.removeAll()
            for agentSeq in state.order { state.drop(agentSeq) }
        }
        await withCheckedContinuation { continuation in
            pending.notify(queue: .global()) { continuation.resume() }
        }
    }
}
