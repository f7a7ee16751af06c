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
/// This process's own inserts extend the postings in place of a reload
/// (``appending(_:version:)``): the loaded postings stay as read, and the new episodes' postings
/// sit beside them, searched with them in one pass.
final class AgentPostings: Sendable {
    /// An episode added after the load: its id, its token count and each term's count in it.
    struct Addition: Sendable, Equatable {
        var episodeID: String
        var length: Int32
        var terms: [String: Int32]
    }

    /// The agent and its `lexical_version` the postings were read at (or extended to).
    let agentID: String
    let version: Int64
    /// Episode ids by document number, as loaded; added episodes follow (``addedIDs``).
    let ids: [String]
    /// Token counts by document number (what FTS5's `xColumnSize` returns), added episodes'
    /// included.
    let lengths: [Int32]
    /// Each term's postings: `documents[range]`, `frequencies[range]`; `hits` counts every
    /// episode holding the term (FTS5's document frequency).
    let terms: [String: (range: Range<Int>, hits: Int)]
    let documents: [Int32]
    let frequencies: [Int32]
    /// Episodes added since the load, numbered from `ids.count` on, and their postings by term.
    let addedIDs: [String]
    let addedTerms: [String: (documents: [Int32], frequencies: [Int32])]

    /// What the postings take in memory, roughly (the LRU's budget counts this).
    let bytes: Int
    /// The agent's tokens (the sum of `lengths`).
    let tokens: Int

    init(
        agentID: String, version: Int64, ids: [String], lengths: [Int32], terms: [String: (range: Range<Int>, hits: Int)],
        documents: [Int32], frequencies: [Int32], addedIDs: [String] = [],
        addedTerms: [String: (documents: [Int32], frequencies: [Int32])] = [:]
    ) {
        self.agentID = agentID
        self.version = version
        self.ids = ids
        self.lengths = lengths
        self.terms = terms
        self.documents = documents
        self.frequencies = frequencies
        self.addedIDs = addedIDs
        self.addedTerms = addedTerms
        tokens = lengths.reduce(0) { $0 + Int($1) }
        bytes =
            documents.count * 8 + ids.reduce(0) { $0 + $1.utf8.count + 24 } + lengths.count * 4
            + terms.keys.reduce(0) { $0 + $1.utf8.count + 48 }
            + addedIDs.reduce(0) { $0 + $1.utf8.count + 24 }
            + addedTerms.reduce(0) { $0 + $1.key.utf8.count + 64 + $1.value.documents.count * 8 }
    }

    /// `base` extended: its counts carried over rather than summed again (a write into a
    /// 100,000-episode agent costs the additions, not the agent).
    private init(
        extending base: AgentPostings, version: Int64, lengths: [Int32], addedIDs: [String],
        addedTerms: [String: (documents: [Int32], frequencies: [Int32])], addedTokens: Int, addedBytes: Int
    ) {
        agentID = base.agentID
        self.version = version
        ids = base.ids
        self.lengths = lengths
        terms = base.terms
        documents = base.documents
        frequencies = base.frequencies
        self.addedIDs = addedIDs
        self.addedTerms = addedTerms
        tokens = base.tokens + addedTokens
        bytes = base.bytes + addedBytes
    }

    /// Episodes these postings hold.
    var episodeCount: Int { lengths.count }

    /// The episode numbered `document`.
    func id(of document: Int32) -> String {
        let d = Int(document)
        return d < ids.count ? ids[d] : addedIDs[d - ids.count]
    }

    /// These postings with `additions` added (in that order), at the agent's `version` after them.
    func appending(_ additions: [Addition], version: Int64) -> AgentPostings {
        var lengths = lengths
        var addedIDs = addedIDs
        var addedTerms = addedTerms
        var addedTokens = 0
        var addedBytes = 0
        for addition in additions {
            let document = Int32(lengths.count)
            lengths.append(addition.length)
            addedIDs.append(addition.episodeID)
            addedTokens += Int(addition.length)
            addedBytes += addition.episodeID.utf8.count + 24 + 4
            for (term, count) in addition.terms {
                if addedTerms[term] == nil { addedBytes += term.utf8.count + 64 }
                addedTerms[term, default: ([], [])].documents.append(document)
                addedTerms[term, default: ([], [])].frequencies.append(count)
                addedBytes += 8
            }
        }
        return AgentPostings(
            extending: self, version: version, lengths: lengths, addedIDs: addedIDs, addedTerms: addedTerms, addedTokens: addedTokens,
            addedBytes: addedBytes)
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
            agentID: agentID, version: version, ids: ids, lengths: lengths, terms: terms, documents: documents, frequencies: frequencies)
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
                    let added = addedTerms[phrase]
                    let ranked = (loaded?.range.count ?? 0) + (added?.documents.count ?? 0)
                    guard ranked > 0 else { continue }
                    let idf = episodic_bm25_idf(rows, Double((loaded?.hits ?? 0) + (added?.documents.count ?? 0)))
                    func accumulate(_ postings: UnsafeBufferPointer<Int32>, _ counts: UnsafeBufferPointer<Int32>) {
                        guard !postings.isEmpty else { return }
                        episodic_bm25_accumulate(
                            scores.baseAddress!, postings.baseAddress!, counts.baseAddress!, postings.count, lengths.baseAddress!, idf,
                            average)
                        for document in postings where !matched[Int(document)] {
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
