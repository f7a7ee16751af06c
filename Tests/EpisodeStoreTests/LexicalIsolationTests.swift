import Foundation
import GRDB
import TestSupport
import Testing

@testable import EpisodeStore

/// An agent's lexical ranking is its own: the same ids and BM25 scores as in a store that holds
/// that agent alone, however many other agents share the words (issue 11, item 4) — also after
/// its episodes are edited and deleted, which the per-agent counts must follow.
@Suite struct LexicalIsolationTests {
    static let words = [
        "lisbon", "invoice", "flight", "hotel", "meeting", "budget", "garden", "piano", "train", "report",
        "coffee", "doctor", "birthday", "server", "contract", "recipe", "marathon", "museum", "tax", "river",
    ]

    /// A deterministic text of `count` words drawn with a skew set by `seed` (agents differ in how
    /// often each word appears, which is what makes global and per-agent statistics differ).
    static func text(_ seed: UInt64, _ index: Int, count: Int) -> String {
        var state = seed &* 6_364_136_223_846_793_005 &+ UInt64(index) &* 1_442_695_040_888_963_407
        var out: [String] = []
        for _ in 0..<count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let r = Double(state >> 11) / Double(1 << 53)
            // Agent-specific skew: seed rotates which words are common.
            let rank = Int(pow(r, seed % 2 == 0 ? 2.5 : 0.6) * Double(words.count))
            out.append(words[(rank + Int(seed)) % words.count])
        }
        return out.joined(separator: " ")
    }

    static let queries = ["lisbon invoice", "hotel hotel meeting", "piano", "tax river marathon museum", "budget train coffee"]

    func ranking(_ store: any EpisodeStoreBackend) async throws -> [[LexicalHit]] {
        var result: [[LexicalHit]] = []
        for query in Self.queries { result.append(try await store.lexicalSearch(query: query, topK: 15, agentID: "target")) }
        return result
    }

    func expectSame(_ mixed: [[LexicalHit]], _ alone: [[LexicalHit]]) {
        #expect(mixed.count == alone.count)
        for (m, a) in zip(mixed, alone) {
            #expect(!a.isEmpty)
            #expect(m.map(\.episodeID) == a.map(\.episodeID))
            for (x, y) in zip(m, a) { #expect(abs(x.score - y.score) <= 1e-9 * max(1, abs(y.score)), "\(x) vs \(y)") }
        }
    }

    /// Applies the same edits to the target agent in both stores.
    func edit(_ store: any EpisodeStoreBackend) async throws {
        for i in [3, 7, 11] { #expect(try await store.delete(agentID: "target", id: "t\(i)")) }
        for i in [4, 8] {
            var changed = try #require(try await store.episode(agentID: "target", id: "t\(i)"))
            changed.content = Self.text(99, i, count: 3 + i)
            _ = try #require(try await store.update(changed, expectedUpdatedAt: changed.updatedAt, vectors: [:], staleColumns: []))
        }
        var summarised = try #require(try await store.episode(agentID: "target", id: "t5"))
        summarised.summary = "piano piano lisbon"
        _ = try #require(try await store.update(summarised, expectedUpdatedAt: summarised.updatedAt, vectors: [:], staleColumns: []))
    }

    @Test(arguments: Backend.allCases)
    func rankingMatchesTheAgentAlone(_ backend: Backend) async throws {
        let mixed = try await StoreHarness.make(backend, columns: [])
        let alone = try await StoreHarness.make(backend, columns: [])
        let target = (0..<40).map { NewEpisode(Episode(id: "t\($0)", agentID: "target", content: Self.text(1, $0, count: 4 + $0 % 9))) }
        // Other agents: many more episodes over the same words, with other frequencies and lengths.
        for agent in 0..<6 {
            let others = (0..<150).map {
                NewEpisode(Episode(id: "o\($0)", agentID: "other\(agent)", content: Self.text(UInt64(2 + agent), $0, count: 2 + $0 % 30)))
            }
            _ = try await mixed.store.add(Array(others))
        }
        _ = try await mixed.store.add(target)
        _ = try await alone.store.add(target)
        expectSame(try await ranking(mixed.store), try await ranking(alone.store))

        try await edit(mixed.store)
        try await edit(alone.store)
        // Another agent's writes change nothing for the target.
        _ = try await mixed.store.deleteEpisodes(agentID: "other0", filter: nil)
        expectSame(try await ranking(mixed.store), try await ranking(alone.store))
        await mixed.cleanup()
        await alone.cleanup()
    }

    /// In a store holding one agent, the agent's BM25 (its counts kept by the triggers, the
    /// ranking in C) must give exactly FTS5's own `bm25()`, whose N and lengths FTS5 reads from
    /// the index itself: so the counts are right after inserts, updates and deletes.
    @Test func agentBM25EqualsFTS5sOwnWhenTheStoreHoldsOneAgent() async throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        let store = try tmp.open(columns: [])
        _ = try await store.add(
            (0..<40).map { NewEpisode(Episode(id: "t\($0)", agentID: "target", content: Self.text(1, $0, count: 4 + $0 % 9))) })
        try await edit(store)
        for query in Self.queries {
            let ours = try await store.lexicalSearch(query: query, topK: 100, agentID: "target")
            let reference = try store.read { db in
                let seq = try #require(try Int64.fetchOne(db, sql: "SELECT agent_seq FROM agents WHERE agent_id = 'target'"))
                return try Row.fetchAll(
                    db,
                    sql: """
                        SELECT e.id, -bm25(episodes_fts) AS s FROM episodes_fts JOIN episodes e ON e.seq = episodes_fts.rowid
                        WHERE episodes_fts MATCH ? ORDER BY s DESC, e.id
                        """, arguments: [AgentLexicalIndex.matchExpression(words: LexicalQuery.terms(in: query), agentSeq: seq)]
                ).map { LexicalHit(episodeID: $0[0], score: $0[1]) }
            }
            #expect(!reference.isEmpty)
            expectSame([ours], [reference])
        }
        let counts = try store.read { db in
            try Row.fetchOne(db, sql: "SELECT episode_count, (SELECT count(*) FROM episodes) FROM agents WHERE agent_id = 'target'")
        }
        #expect(counts?[0] as Int? == 37 && counts?[1] as Int? == 37)
        await store.close()
    }
}
