import Foundation

extension AgentPostings {
    /// An episode written after the load, as the index tokenized it: its row, id, token count
    /// and each term's count in it.
    struct Addition: Sendable, Equatable {
        var seq: Int64
        var episodeID: String
        var length: Int32
        var terms: [String: Int32]
    }

    /// One write transaction's change to an agent's indexed text: rows whose text left the index
    /// (deleted, or rewritten — a rewritten row is removed and added again), then rows added.
    struct Edit: Sendable, Equatable {
        var removed: [Int64] = []
        var added: [Addition] = []
        var isEmpty: Bool { removed.isEmpty && added.isEmpty }
    }

    /// What this process's writes changed since the load: added episodes numbered from the
    /// loaded ones' count on, their postings by term, and the episodes removed (loaded or added).
    struct Edits: Sendable {
        var ids: [String] = []
        var seqs: [Int64] = []
        var terms: [String: (documents: [Int32], frequencies: [Int32])] = [:]
        var removed: Set<Int32> = []
        /// The live added episode of each row added (a row rewritten twice was added twice).
        var live: [Int64: Int32] = [:]

        /// Episodes added or removed so far.
        var count: Int { ids.count + removed.count }
    }

    /// The live episode numbered for row `seq`, if any.
    func liveDocument(seq: Int64) -> Int32? {
        if let added = edits.live[seq] { return added }
        var low = 0
        var high = seqs.count
        while low < high {
            let middle = (low + high) / 2
            if seqs[middle] < seq { low = middle + 1 } else { high = middle }
        }
        guard low < seqs.count, seqs[low] == seq, !edits.removed.contains(Int32(low)) else { return nil }
        return Int32(low)
    }

    /// These postings with `edit` applied, at the agent's `version` after it; nil when a removed
    /// row is not one of the live episodes here (the postings then cannot follow the write).
    func applying(_ edit: Edit, version: Int64) -> AgentPostings? {
        var lengths = lengths
        var edits = edits
        var tokens = tokens
        var bytes = bytes
        for seq in edit.removed {
            guard let document = liveDocument(seq: seq) else { return nil }
            edits.removed.insert(document)
            if edits.live[seq] == document { edits.live[seq] = nil }
            tokens -= Int(lengths[Int(document)])
            bytes += 8
        }
        for addition in edit.added {
            let document = Int32(lengths.count)
            lengths.append(addition.length)
            edits.ids.append(addition.episodeID)
            edits.seqs.append(addition.seq)
            edits.live[addition.seq] = document
            tokens += Int(addition.length)
            bytes += addition.episodeID.utf8.count + 24 + 12 + 16
            for (term, count) in addition.terms {
                if edits.terms[term] == nil { bytes += term.utf8.count + 64 }
                edits.terms[term, default: ([], [])].documents.append(document)
                edits.terms[term, default: ([], [])].frequencies.append(count)
                bytes += 8
            }
        }
        return AgentPostings(editing: self, version: version, lengths: lengths, edits: edits, tokens: tokens, bytes: bytes)
    }
}
