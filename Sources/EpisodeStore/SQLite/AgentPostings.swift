import CAgentFTS
import Foundation
import GRDB

/// One agent's full-text postings, copied from the FTS5 index into memory at one
/// `lexical_version` of the agent: every term's episodes with the term's count in each, and every
/// episode's token count. ``search(phrases:episodes:tokens:topK:allowed:excluded:)`` ranks them
/// with the same BM25 as the index's `episodic_bm25` (the same C formulas, the same order of
/// summation), so its scores are bit-identical to the FTS5 query's.
///
/// Why: FTS5 spends ~1 µs per matching row on the ranking (position lists, a size lookup, the
/// sorter): a short query in 10,000 synthetic episodes took 3.4–4.6 ms p50, here 0.13–0.17 ms
/// (`episodic-bench lexical`).
///
/// This process's own writes edit the postings in place of a reload (``applying(_:version:)``,
/// in `AgentPostings+Edits.swift`): the loaded postings stay as read, episodes added or rewritten
/// since sit beside them, and removed ones are skipped.
final class AgentPostings: Sendable {
    /// The agent and its `lexical_version` the postings were read at (or edited to).
    let agentID: String
    let version: Int64
    /// The version before the last edit (nil when not edited): a search still reading at it is
    /// older than the postings, and they are not stale for it.
    let previousVersion: Int64?
    /// Episode ids and their rows (`seq`, ascending) by document number, as loaded; episodes
    /// added since follow (``edits``).
    let ids: [String]
    let seqs: [Int64]
    /// Token counts by document number (what FTS5's `xColumnSize` returns), added episodes'
    /// included.
    let lengths: [Int32]
    /// Each term's postings: `documents[range]`, `frequencies[range]`; `hits` counts every
    /// episode holding the term (FTS5's document frequency).
    let terms: [String: (range: Range<Int>, hits: Int)]
    let documents: [Int32]
    let frequencies: [Int32]
    /// What this process's writes changed since the load.
    let edits: Edits

    /// What the postings take in memory, roughly (the LRU's budget counts this).
    let bytes: Int
    /// The agent's tokens (the sum of the live episodes' `lengths`).
    let tokens: Int

    init(
        agentID: String, version: Int64, ids: [String], seqs: [Int64], lengths: [Int32],
        terms: [String: (range: Range<Int>, hits: Int)], documents: [Int32], frequencies: [Int32]
    ) {
        self.agentID = agentID
        self.version = version
        previousVersion = nil
        self.ids = ids
        self.seqs = seqs
        self.lengths = lengths
        self.terms = terms
        self.documents = documents
        self.frequencies = frequencies
        edits = Edits()
        tokens = lengths.reduce(0) { $0 + Int($1) }
        bytes =
            documents.count * 8 + ids.reduce(0) { $0 + $1.utf8.count + 24 } + lengths.count * 12
            + terms.keys.reduce(0) { $0 + $1.utf8.count + 48 }
    }

    /// `base` edited: its loaded postings shared, its counts carried over rather than summed
    /// again (a write into a 100,000-episode agent costs the write, not the agent).
    init(editing base: AgentPostings, version: Int64, lengths: [Int32], edits: Edits, tokens: Int, bytes: Int) {
        agentID = base.agentID
        self.version = version
        previousVersion = base.version
        ids = base.ids
        seqs = base.seqs
        self.lengths = lengths
        terms = base.terms
        documents = base.documents
        frequencies = base.frequencies
        self.edits = edits
        self.tokens = tokens
        self.bytes = bytes
    }

    /// Episodes numbered here, removed ones included.
    var episodeCount: Int { lengths.count }

    /// The episode numbered `document`.
    func id(of document: Int32) -> String {
        let d = Int(document)
        return d < ids.count ? ids[d] : edits.ids[d - ids.count]
    }

    /// Reads the postings of the agent numbered `agentSeq` (id `agentID`) from the index, in the
    /// caller's transaction; nil when the agent is gone.
    static func load(_ db: Database, agentSeq: Int64, agentID: String) throws -> AgentPostings? {
        guard let version = try Int64.fetchOne(db, sql: "SELECT lexical_version FROM agents WHERE agent_seq = ?", arguments: [agentSeq])
        else { return nil }
        var ids: [String] = []
        var lengths: [Int32] = []
        var rows: [Int64] = []
        let sizes = try Row.fetchCursor(
            db,
            sql: """
                SELECT e.seq, e.id, d.sz FROM episodes e JOIN episodes_fts_docsize d ON d.id = e.seq
                WHERE e.agent_id = ? ORDER BY e.seq
                """, arguments: [agentID])
        while let row = try sizes.next() {
            guard let id = SQLiteRows.text(row[1]) else { continue }
            let size = try row.withUnsafeData(atIndex: 2) { data in data.map(Self.firstVarint) ?? 0 }
            rows.append(row[0])
            ids.append(id)
            lengths.append(Int32(clamping: size))
        }

        // The agent's terms are the index's terms behind its prefix `<agent_seq>\x1f` (read in C:
        // a 100,000-episode agent has ~2 million term instances).
        var read = EpisodicPostings()
        let code = rows.withUnsafeBufferPointer { rows in
            episodic_postings_read(db.sqliteConnection, "\(agentSeq)\u{1F}", rows.baseAddress, rows.count, &read)
        }
        defer { episodic_postings_free(&read) }
        guard code == 0 else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "reading the postings of agent \(agentSeq)")
        }
        var terms: [String: (range: Range<Int>, hits: Int)] = [:]
        terms.reserveCapacity(read.term_count)
        for i in 0..<read.term_count {
            let term = String(cString: read.term_text + read.term_offsets[i])
            terms[term] = (read.term_starts[i]..<read.term_starts[i + 1], read.term_hits[i])
        }
        let documents = read.count > 0 ? Array(UnsafeBufferPointer(start: read.documents, count: read.count)) : []
        let frequencies = read.count > 0 ? Array(UnsafeBufferPointer(start: read.frequencies, count: read.count)) : []
        return AgentPostings(
            agentID: agentID, version: version, ids: ids, seqs: rows, lengths: lengths, terms: terms, documents: documents,
            frequencies: frequencies)
    }

    /// The first of the SQLite varints FTS5 stores an episode's column sizes as.
    static func firstVarint(_ bytes: Data) -> Int64 {
        var value: Int64 = 0
        for (i, byte) in bytes.prefix(9).enumerated() {
            if i == 8 { return (value << 8) | Int64(byte) }
            value = (value << 7) | Int64(byte & 0x7F)
            if byte & 0x80 == 0 { return value }
        }
        return value
    }

    /// BM25 over the agent's postings: each phrase one term (an empty phrase matches nothing),
    /// `episodes` and `tokens` the agent's counts (N and total length), top `topK` by score then
    /// id, restricted to `allowed` ids when given and without `excluded` ones.
    func search(phrases: [String?], episodes: Int64, tokens: Int64, topK: Int, allowed: Set<String>?, excluded: Set<String>)
        -> [LexicalHit]
    {
        let rows = Double(episodes)
        var average = rows > 0 ? Double(tokens) / rows : 0
        if average <= 0 { average = 1 }
        var scores = [Double](repeating: 0, count: episodeCount)
        var matched = [Bool](repeating: false, count: episodeCount)
        var touched: [Int32] = []
        scores.withUnsafeMutableBufferPointer { scores in
            lengths.withUnsafeBufferPointer { lengths in
                // Phrase by phrase, as the ranking sums them (a phrase the episode lacks adds +0.0
                // there, nothing here: the same double). An episode is either loaded or added, so
                // each gets a phrase's contribution once, in the same order.
                for phrase in phrases {
                    guard let phrase else { continue }
                    let loaded = terms[phrase]
                    let added = edits.terms[phrase]
                    let loadedRange = loaded?.range ?? 0..<0
                    // Removed episodes still hold their postings: they are left out of the counts
                    // and never ranked (their scores are summed, and not read).
                    let removedHere = edits.removed.isEmpty ? 0 : documents[loadedRange].count(where: { edits.removed.contains($0) })
                    let addedHere = added.map { a in a.documents.count(where: { !edits.removed.contains($0) }) } ?? 0
                    guard loadedRange.count - removedHere + addedHere > 0 else { continue }
                    let idf = episodic_bm25_idf(rows, Double((loaded?.hits ?? 0) - removedHere + addedHere))
                    func accumulate(_ postings: UnsafeBufferPointer<Int32>, _ counts: UnsafeBufferPointer<Int32>) {
                        guard !postings.isEmpty else { return }
                        episodic_bm25_accumulate(
                            scores.baseAddress!, postings.baseAddress!, counts.baseAddress!, postings.count, lengths.baseAddress!, idf,
                            average)
                        for document in postings where !matched[Int(document)] && !edits.removed.contains(document) {
                            matched[Int(document)] = true
                            touched.append(document)
                        }
                    }
                    if let range = loaded?.range {
                        documents.withUnsafeBufferPointer { d in
                            frequencies.withUnsafeBufferPointer { f in
                                accumulate(UnsafeBufferPointer(rebasing: d[range]), UnsafeBufferPointer(rebasing: f[range]))
                            }
                        }
                    }
                    if let added {
                        added.documents.withUnsafeBufferPointer { d in added.frequencies.withUnsafeBufferPointer { f in accumulate(d, f) } }
                    }
                }
            }
        }
        // The k-th best score first (a min-heap of k scores: most episodes fall below its top at
        // once), then only the episodes at or above it are ordered, by score and id.
        var passing: [Int32] = []
        passing.reserveCapacity(touched.count)
        for document in touched {
            let id = id(of: document)
            if let allowed, !allowed.contains(id) { continue }
            if !excluded.isEmpty, excluded.contains(id) { continue }
            passing.append(document)
        }
        let threshold = Self.kthLargest(passing.map { scores[Int($0)] }, topK)
        var hits = passing.compactMap { document -> LexicalHit? in
            let score = scores[Int(document)]
            return score >= threshold ? LexicalHit(episodeID: id(of: document), score: score) : nil
        }
        hits.sort { $0.score != $1.score ? $0.score > $1.score : $0.episodeID < $1.episodeID }
        if hits.count > topK { hits.removeLast(hits.count - topK) }
        return hits
    }

    /// The `k`-th largest of `values` (-∞ when there are fewer).
    static func kthLargest(_ values: [Double], _ k: Int) -> Double {
        guard k > 0, values.count >= k else { return -.infinity }
        var heap = Array(values.prefix(k))
        func siftDown(_ start: Int) {
            var i = start
            while true {
                let left = 2 * i + 1
                let right = left + 1
                var smallest = i
                if left < k, heap[left] < heap[smallest] { smallest = left }
                if right < k, heap[right] < heap[smallest] { smallest = right }
                if smallest == i { return }
                heap.swapAt(i, smallest)
                i = smallest
            }
        }
        for i in stride(from: k / 2 - 1, through: 0, by: -1) { siftDown(i) }
        for value in values.dropFirst(k) where value > heap[0] {
            heap[0] = value
            siftDown(0)
        }
        return heap[0]
    }
}
