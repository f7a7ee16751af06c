import Foundation
import GRDB

extension SQLiteEpisodeStore {
    /// What one write transaction did to an agent's lexical version, and how the postings this
    /// process holds for the agent follow it.
    struct LexicalChange {
        var agentSeq: Int64
        var agentID: String
        /// The agent's `lexical_version` before the transaction and after it.
        var before: Int64
        var after: Int64
        /// The change to the postings held at `before`; nil when none are held.
        var edit: AgentPostings.Edit?
    }

    /// Records, inside one write transaction, what it does to the indexed text of the agents it
    /// writes, so that after the commit the postings this process holds can follow
    /// (``applyLexicalChanges(_:)``) instead of going stale.
    struct LexicalEditRecorder {
        let memory: LexicalMemoryIndex
        /// The agents' numbers and versions before the transaction's first change.
        private var versions: [String: (agentSeq: Int64, version: Int64)] = [:]
        private var edits: [String: AgentPostings.Edit] = [:]
        /// Agents whose held postings could not be told the change (they go stale).
        private var abandoned: Set<String> = []

        /// Reads the versions of `agentIDs` (those that exist) before the transaction changes them.
        init(memory: LexicalMemoryIndex, agentIDs: some Sequence<String>, _ db: Database) throws {
            self.memory = memory
            guard memory.budget > 0 else { return }
            let sql = "SELECT agent_seq, lexical_version FROM agents WHERE agent_id = ?"
            for agentID in Set(agentIDs) {
                guard let row = try Row.fetchOne(db, sql: sql, arguments: [agentID]) else { continue }
                let agentSeq: Int64 = row[0]
                let version: Int64 = row[1]
                versions[agentID] = (agentSeq, version)
                if memory.follows(agentSeq: agentSeq, version: version) { edits[agentID] = AgentPostings.Edit() }
            }
        }

        /// Whether this process holds the postings of `agentID` as they were before the
        /// transaction, or is loading them (its changes are then worth recording).
        func follows(_ agentID: String) -> Bool { edits[agentID] != nil }

        /// The row `seq` of `agentID` leaves the index (call before deleting or rewriting it).
        mutating func removing(_ seq: Int64, of agentID: String) {
            edits[agentID]?.removed.append(seq)
        }

        /// The row `seq` of `agentID` enters the index with `text` (call after writing it).
        mutating func adding(_ seq: Int64, episodeID: String, text: String, of agentID: String, _ db: Database) throws {
            guard follows(agentID) else { return }
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT episodic_lexical_document_terms(?), episodic_lexical_length(?)", arguments: [text, text]),
                let joined = row[0] as String?, let length = row[1] as Int64?
            else {
                // An episode missing from the postings would be missing from every ranking.
                edits[agentID] = nil
                abandoned.insert(agentID)
                return
            }
            var terms: [String: Int32] = [:]
            for term in joined.split(separator: "\u{1F}") { terms[String(term), default: 0] += 1 }
            edits[agentID]?.added.append(.init(seq: seq, episodeID: episodeID, length: Int32(clamping: length), terms: terms))
        }

        /// The agents' versions after the transaction and their edits (for agents that existed
        /// before it and still do), read before the commit.
        func finish(changing agentIDs: some Sequence<String>, _ db: Database) throws -> [LexicalChange] {
            var changes: [LexicalChange] = []
            for agentID in Set(agentIDs) {
                guard let (agentSeq, before) = versions[agentID],
                    let after = try Int64.fetchOne(
                        db, sql: "SELECT lexical_version FROM agents WHERE agent_seq = ?", arguments: [agentSeq]),
                    after != before
                else { continue }
                changes.append(.init(agentSeq: agentSeq, agentID: agentID, before: before, after: after, edit: edits[agentID]))
            }
            return changes
        }
    }

    /// After the commit of the transaction that recorded `changes`: the held postings take each
    /// edit (if a search already saw the new version, it dropped them as stale and nothing is
    /// edited), and an agent's quiet streak goes on past this process's own writes.
    func applyLexicalChanges(_ changes: [LexicalChange]) {
        for change in changes {
            if let edit = change.edit {
                lexicalMemory.apply(edit, agentSeq: change.agentSeq, agentID: change.agentID, from: change.before, to: change.after)
            }
            lexicalMemory.carryStreak(agentSeq: change.agentSeq, from: change.before, to: change.after)
        }
    }
}
