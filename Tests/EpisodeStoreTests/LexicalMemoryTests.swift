import Foundation
import GRDB
import TestSupport
import Testing

@testable import EpisodeStore

/// The in-memory postings (``LexicalMemoryIndex``) rank exactly as FTS5 does — the same scores to
/// the bit — and are never used once the agent's indexed text changed, by this connection or
/// another one.
@Suite struct LexicalMemoryTests {
    /// Texts with what tokenizing must agree on: stems, case, diacritics, digits, repeated words,
    /// a script whose words FTS5 may split into several terms, and summaries that replace the
    /// content as the indexed text.
    static func texts(_ count: Int) -> [Episode] {
        let extra = [
            "Booking booked BOOKS the café in Zürich", "naïve résumé 2024 €300 ticket 4471", "हिंदी में लिखा गया नोट",
            "piano piano piano lessons", "the the the", "Ελληνικά κείμενα και café",
        ]
        return (0..<count).map { i in
            var text = LexicalIsolationTests.text(UInt64(1 + i % 3), i, count: 3 + i % 17)
            if i % 5 == 0 { text += " " + extra[i / 5 % extra.count] }
            var episode = Episode(id: "e\(i)", agentID: "target", content: text, metadata: ["kind": .string(i % 3 == 0 ? "note" : "chat")])
            if i % 11 == 0 { episode.summary = "summary: " + extra[i % extra.count] }
            return episode
        }
    }

    static let queries = [
        "lisbon invoice", "hotel hotel meeting", "piano", "tax river marathon museum", "budget train coffee",
        "book bookings", "cafe zurich", "Resume naive", "2024 4471", "हिंदी नोट", "κείμενα", "the", "unknownword piano",
        "lisbon lisbon lisbon flight hotel garden doctor birthday server contract recipe",
    ]

    /// Both rankings of `query` must be equal, ids and scores to the bit: all matches, and the
    /// first 7 (where both keep the first ids of a tie the limit cuts).
    func expectSameRanking(_ store: SQLiteEpisodeStore, _ query: String, filter: EpisodeFilter? = nil) throws {
        for topK in [10_000, 7] {
            let fts5 = try store.lexicalSearch(query: query, topK: topK, agentID: "target", filter: filter, path: .fts5)
            let memory = try store.lexicalSearch(query: query, topK: topK, agentID: "target", filter: filter, path: .memory)
            // The first difference only: whole rankings make unreadable messages.
            let first = zip(memory, fts5).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            #expect(
                memory.count == fts5.count && first == nil,
                "\(query), top \(topK): \(first.map { "at \($0): \(memory[$0]) vs \(fts5[$0])" } ?? "\(memory.count) vs \(fts5.count) hits")"
            )
        }
    }

    /// A new store in a temporary directory holding `episodes` of ``texts(_:)``, handed to `body`
    /// with its directory, then closed and removed (also when `body` throws).
    static func withStore(episodes: Int, _ body: (SQLiteEpisodeStore, TemporaryStore) async throws -> Void) async throws {
        let tmp = try TemporaryStore()
        defer { tmp.cleanup() }
        let store = try tmp.open(columns: [])
        do {
            if episodes > 0 { _ = try await store.add(texts(episodes).map { NewEpisode($0) }) }
            try await body(store, tmp)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }

    /// Deletes, rewrites and summarises some of the target's episodes.
    func edit(_ store: SQLiteEpisodeStore) async throws {
        for i in [3, 7, 11] { #expect(try await store.delete(agentID: "target", id: "e\(i)")) }
        for i in [4, 8, 15] {
            var changed = try #require(try await store.episode(agentID: "target", id: "e\(i)"))
            changed.content = LexicalIsolationTests.text(99, i, count: 3 + i)
            if i == 15 { changed.summary = "piano piano lisbon" }
            _ = try #require(try await store.update(changed, expectedUpdatedAt: changed.updatedAt, vectors: [:], staleColumns: []))
        }
    }

    @Test func memoryRankingEqualsFTS5sToTheBit() async throws {
        try await Self.withStore(episodes: 300) { store, _ in
            // Another agent over the same words: its terms must not leak into the target's postings.
            _ = try await store.add(
                (0..<100).map { NewEpisode(Episode(id: "o\($0)", agentID: "other", content: LexicalIsolationTests.text(7, $0, count: 9))) })
            try await edit(store)
            var matched = 0
            for query in Self.queries {
                try expectSameRanking(store, query)
                matched += try store.lexicalSearch(query: query, topK: 10_000, agentID: "target", filter: nil, path: .fts5).count
            }
            #expect(matched > 300)
            // Restricted: a metadata filter (its passing ids) and excluded ids.
            let notes = EpisodeFilter(metadata: ["kind": .equals(.string("note"))])
            let excluding = EpisodeFilter(excludedIDs: ["e1", "e2", "e10", "e20"])
            for query in Self.queries.prefix(6) {
                try expectSameRanking(store, query, filter: notes)
                try expectSameRanking(store, query, filter: excluding)
            }
        }
    }

    /// Episodes with the same text tie: a limit of 5 keeps the five first ids on both paths,
    /// whatever order the rows were written in — 30 tied (past the rows FTS5 is asked for: a
    /// second pass) and 8 tied (within them).
    @Test func tiesAtTheLimitKeepTheFirstIDs() async throws {
        try await Self.withStore(episodes: 0) { store, _ in
            for (word, count) in [("piano", 30), ("violin", 8)] {
                let ids = (0..<count).map { "\(word)\(($0 * 17) % count)" } // written out of order
                _ = try await store.add(ids.map { NewEpisode(Episode(id: $0, agentID: "target", content: "\(word) lesson")) })
                for path in [SQLiteEpisodeStore.LexicalPath.fts5, .memory] {
                    let hits = try store.lexicalSearch(query: word, topK: 5, agentID: "target", filter: nil, path: path)
                    #expect(hits.map(\.episodeID) == Array(ids.sorted().prefix(5)), "\(word), \(path)")
                    #expect(Set(hits.map(\.score)).count == 1)
                }
            }
        }
    }

    /// Both FTS5 queries read the index first and the episodes by rowid: the other way round,
    /// each episode of the agent would run the whole MATCH again (a 10,000-episode agent's tie
    /// query ran for minutes before the join was fixed).
    @Test func theFTS5QueriesScanTheIndexFirst() async throws {
        try await Self.withStore(episodes: 50) { store, _ in
            try store.read { db in
                let sql = SQLiteEpisodeStore.rankedMatchesSQL(condition: "")
                let arguments: StatementArguments = [
                    AgentLexicalIndex.matchExpression(words: ["piano"], agentSeq: 1), "episodic_bm25(50, 500)", "target",
                ]
                for (query, bound) in [
                    (sql + " ORDER BY f.rank LIMIT 5", arguments), (sql + SQLiteEpisodeStore.tiedRankCondition, arguments + [-1.0]),
                ] {
                    let plan = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + query, arguments: bound).map { $0["detail"] as String }
                    #expect(plan.first?.contains("VIRTUAL TABLE") == true, "\(plan)")
                    #expect(plan.dropFirst().allSatisfy { !$0.contains("VIRTUAL TABLE") }, "\(plan)")
                }
            }
        }
    }

    /// The term lists FTS5 looks up: one per word, stemmed and folded; several for a word the
    /// tokenizer splits (then only FTS5 can match the phrase).
    @Test func queryWordsBecomeTheIndexsTerms() async throws {
        try await Self.withStore(episodes: 0) { store, _ in
            try store.read { db in
                #expect(try SQLiteEpisodeStore.singleTermPhrases(["booking", "Zürich", "2024"], db) == ["book", "zurich", "2024"])
                let split = try String.fetchOne(db, sql: "SELECT episodic_lexical_terms('हिंदी')") ?? ""
                if split.contains("\u{1F}") { #expect(try SQLiteEpisodeStore.singleTermPhrases(["हिंदी"], db) == nil) }
                #expect(try String.fetchOne(db, sql: "SELECT episodic_lexical_terms('')") == "")
            }
        }
    }

    /// Searches `agent` for "piano" `times` times.
    static func search(_ store: SQLiteEpisodeStore, agent: String = "target", query: String = "piano", times: Int) async throws {
        for _ in 0..<times { _ = try await store.lexicalSearch(query: query, topK: 10, agentID: agent, filter: nil) }
    }

    /// Waits (up to 10 s) until `count` loads have finished, and expects no more.
    static func waitForLoads(_ store: SQLiteEpisodeStore, _ count: Int) async throws {
        for _ in 0..<400 where store.lexicalMemory.loadsCompleted < count { try await Task.sleep(for: .milliseconds(25)) }
        #expect(store.lexicalMemory.loadsCompleted == count)
    }

    @Test func postingsAreLoadedOnceQuietAndNeverServeAStaleRanking() async throws {
        try await Self.withStore(episodes: 200) { store, tmp in
            // Two searches at the same version: the agent is quiet, its postings are loaded.
            try await Self.search(store, times: 2)
            try await Self.waitForLoads(store, 1)
            let servedBefore = store.lexicalMemory.served
            for query in Self.queries {
                #expect(
                    try await store.lexicalSearch(query: query, topK: 10, agentID: "target", filter: nil)
                        == store.lexicalSearch(query: query, topK: 10, agentID: "target", filter: nil, path: .fts5))
            }
            #expect(store.lexicalMemory.served > servedBefore, "the automatic searches did not use the postings")

            // Another connection (as another process would) adds, rewrites and deletes: each change
            // shows in the very next search.
            let other = try tmp.open(columns: [])
            _ = try await other.add([NewEpisode(Episode(id: "new", agentID: "target", content: "a zebra crossing in lisbon"))])
            #expect(try await store.lexicalSearch(query: "zebra", topK: 10, agentID: "target", filter: nil).map(\.episodeID) == ["new"])
            var changed = try #require(try await other.episode(agentID: "target", id: "new"))
            changed.content = "an okapi crossing"
            _ = try #require(try await other.update(changed, expectedUpdatedAt: changed.updatedAt, vectors: [:], staleColumns: []))
            #expect(try await store.lexicalSearch(query: "zebra", topK: 10, agentID: "target", filter: nil).isEmpty)
            #expect(try await store.lexicalSearch(query: "okapi", topK: 10, agentID: "target", filter: nil).map(\.episodeID) == ["new"])
            // A summary replaces the indexed text without touching the content.
            var summarised = try #require(try await other.episode(agentID: "target", id: "new"))
            summarised.summary = "giraffe"
            _ = try #require(try await other.update(summarised, expectedUpdatedAt: summarised.updatedAt, vectors: [:], staleColumns: []))
            for _ in 0..<3 {
                #expect(try await store.lexicalSearch(query: "okapi", topK: 10, agentID: "target", filter: nil).isEmpty)
                #expect(
                    try await store.lexicalSearch(query: "giraffe", topK: 10, agentID: "target", filter: nil).map(\.episodeID) == ["new"])
                try await Task.sleep(for: .milliseconds(100)) // a reload may run meanwhile
            }
            #expect(try await other.delete(agentID: "target", id: "new"))
            #expect(try await store.lexicalSearch(query: "giraffe", topK: 10, agentID: "target", filter: nil).isEmpty)
            for query in Self.queries {
                #expect(
                    try await store.lexicalSearch(query: query, topK: 10, agentID: "target", filter: nil)
                        == store.lexicalSearch(query: query, topK: 10, agentID: "target", filter: nil, path: .fts5))
            }
            await other.close()
        }
    }

    /// This process's own writes — inserts, rewrites, deletes — edit the postings it holds instead
    /// of leaving them stale: the next searches are answered from memory, ranking as FTS5 does to
    /// the bit, with no reload.
    @Test func ownWritesEditTheHeldPostingsToTheBit() async throws {
        try await Self.withStore(episodes: 200) { store, _ in
            try await Self.search(store, times: 2)
            try await Self.waitForLoads(store, 1)
            // New terms, known ones, repeats, summaries (e220, e231, …), a text with no terms.
            var added = Array(Self.texts(260).suffix(60))
            added[0].content = "zebra zebra crossing, a Zebra"
            added[1].content = "¿?! …"
            added[2].summary = "okapi piano"
            // A batch across two agents, one batch of many, then one at a time.
            let elsewhere = Episode(id: "s1", agentID: "second", content: "zebra piano")
            _ = try await store.add([NewEpisode(added[0]), NewEpisode(elsewhere)])
            _ = try await store.add(added[1..<50].map { NewEpisode($0) })
            for episode in added[50...] { _ = try await store.add([NewEpisode(episode)]) }
            #expect(store.lexicalMemory.edited == added.count)
            let served = store.lexicalMemory.served
            let queries = Self.queries + ["zebra", "crossing zebra", "okapi"]
            for query in queries { try expectSameRanking(store, query) }
            // Two searches of each query with words (none: no search), each found the postings current.
            let searched = queries.filter { !LexicalQuery.terms(in: $0).isEmpty }.count
            #expect(store.lexicalMemory.served == served + 2 * searched, "a search found the postings stale")
            #expect(try await store.lexicalSearch(query: "zebra", topK: 10, agentID: "target", filter: nil).map(\.episodeID) == ["e200"])
            #expect(store.lexicalMemory.loadsCompleted == 1, "the postings were reloaded, not extended")
            // Then deletes and rewrites (a rewrite removes the episode and adds it again): the
            // postings follow them too, still to the bit.
            let editedBefore = store.lexicalMemory.edited
            try await edit(store)
            #expect(store.lexicalMemory.edited == editedBefore + 3 + 3 * 2)
            let servedBeforeEdits = store.lexicalMemory.served
            for query in Self.queries { try expectSameRanking(store, query) }
            let searchedAfterEdits = Self.queries.filter { !LexicalQuery.terms(in: $0).isEmpty }.count
            #expect(store.lexicalMemory.served == servedBeforeEdits + 2 * searchedAfterEdits, "a search found the postings stale")
            // Deleting by filter, and rewriting one episode twice.
            let notes = EpisodeFilter(metadata: ["kind": .equals(.string("note"))])
            #expect(try await store.deleteEpisodes(agentID: "target", filter: notes).count > 0)
            for text in ["okapi okapi piano", "zebra lisbon"] {
                var twice = try #require(try await store.episode(agentID: "target", id: "e200"))
                twice.content = text
                _ = try #require(try await store.update(twice, expectedUpdatedAt: twice.updatedAt, vectors: [:], staleColumns: []))
            }
            for query in Self.queries + ["zebra", "okapi"] { try expectSameRanking(store, query) }
            #expect(store.lexicalMemory.loadsCompleted == 1, "the postings were reloaded, not edited")
        }
    }

    /// An agent that writes and searches in turn through this store gets its postings loaded and
    /// keeps them: its own inserts neither break the quiet streak nor make the postings stale.
    @Test func writingAndSearchingInTurnKeepsThePostings() async throws {
        try await Self.withStore(episodes: 200) { store, _ in
            var fresh = Self.texts(240).suffix(40).makeIterator()
            func turn() async throws {
                _ = try await store.add([NewEpisode(try #require(fresh.next()))])
                try await Self.search(store, times: 1)
            }
            try await Self.search(store, times: 1)
            try await turn() // the second search in a row with only this store's insert between: a load
            try await Self.waitForLoads(store, 1)
            let served = store.lexicalMemory.served
            for _ in 0..<10 { try await turn() }
            #expect(store.lexicalMemory.served == served + 10, "a search after this store's insert went to FTS5")
            #expect(store.lexicalMemory.loadsCompleted == 1)
            for query in Self.queries { try expectSameRanking(store, query) }
        }
    }

    /// An edit applies only to the postings of the version it followed, only when it names live
    /// rows; and a search still reading from before it neither uses nor drops the edited postings.
    @Test func editsFollowTheirVersionsOnly() {
        let index = LexicalMemoryIndex(budget: 1 << 20)
        let loaded = AgentPostings(
            agentID: "a", version: 1, ids: ["x", "y"], seqs: [10, 12], lengths: [2, 1], terms: ["piano": (0..<2, 2)],
            documents: [0, 1], frequencies: [2, 1])
        #expect(index.keep(loaded, agentSeq: 7))
        let okapi = AgentPostings.Addition(seq: 13, episodeID: "z", length: 1, terms: ["okapi": 1])
        #expect(!index.apply(.init(added: [okapi]), agentSeq: 7, agentID: "a", from: 5, to: 6), "another version's edit")
        #expect(!index.apply(.init(removed: [11]), agentSeq: 7, agentID: "a", from: 1, to: 6), "a row the postings do not hold")
        #expect(index.apply(.init(removed: [10], added: [okapi]), agentSeq: 7, agentID: "a", from: 1, to: 2))
        guard case .stale(let load) = index.lookup(agentSeq: 7, agentID: "a", version: 1, episodes: 2, tokens: 3) else {
            Issue.record("postings edited past version 1 served a search at version 1")
            return
        }
        #expect(!load)
        guard case .fresh(let current) = index.lookup(agentSeq: 7, agentID: "a", version: 2, episodes: 2, tokens: 2) else {
            Issue.record("a search older than the edit dropped the postings")
            return
        }
        let hits = current.search(phrases: ["piano", "okapi"], episodes: 2, tokens: 2, topK: 10, allowed: nil, excluded: [])
        #expect(Set(hits.map(\.episodeID)) == ["y", "z"], "the removed episode x is still ranked")
        #expect(!index.apply(.init(removed: [10]), agentSeq: 7, agentID: "a", from: 2, to: 3), "x was removed already")
    }

    /// Writes this process makes while an agent's postings load reach the loaded postings: those
    /// after the version the load read are applied, those it read already are not applied twice.
    @Test(arguments: [Int64(1), 2, 3])
    func editsMadeWhileALoadRunsReachItsPostings(readAt: Int64) {
        let index = LexicalMemoryIndex(budget: 1 << 20)
        _ = index.lookup(agentSeq: 7, agentID: "a", version: 1, episodes: 2, tokens: 3)
        guard case .stale(load: true) = index.lookup(agentSeq: 7, agentID: "a", version: 1, episodes: 2, tokens: 3) else {
            Issue.record("two quiet searches did not ask for a load")
            return
        }
        #expect(index.follows(agentSeq: 7, version: 1), "a writer would not record its edit while the load runs")
        // Two writes while the load runs: x's row 10 rewritten as "okapi" (1 → 2), then y's row 12 deleted (2 → 3).
        let okapi = AgentPostings.Addition(seq: 10, episodeID: "x", length: 1, terms: ["okapi": 1])
        #expect(!index.apply(.init(removed: [10], added: [okapi]), agentSeq: 7, agentID: "a", from: 1, to: 2))
        #expect(!index.apply(.init(removed: [12]), agentSeq: 7, agentID: "a", from: 2, to: 3))
        // What the load read, at `readAt`.
        let texts: [Int64: [(seq: Int64, id: String, term: String)]] = [
            1: [(10, "x", "piano"), (12, "y", "piano")], 2: [(10, "x", "okapi"), (12, "y", "piano")], 3: [(10, "x", "okapi")],
        ]
        let rows = texts[readAt]!
        var terms: [String: (range: Range<Int>, hits: Int)] = [:]
        var documents: [Int32] = []
        for term in Set(rows.map(\.term)).sorted() {
            let start = documents.count
            documents += rows.indices.filter { rows[$0].term == term }.map { Int32($0) }
            terms[term] = (start..<documents.count, documents.count - start)
        }
        index.finishLoading(
            agentSeq: 7,
            postings: AgentPostings(
                agentID: "a", version: readAt, ids: rows.map(\.id), seqs: rows.map(\.seq), lengths: rows.map { _ in 1 }, terms: terms,
                documents: documents, frequencies: documents.map { _ in 1 }))
        guard case .fresh(let current) = index.lookup(agentSeq: 7, agentID: "a", version: 3, episodes: 1, tokens: 1) else {
            Issue.record("the postings read at version \(readAt) did not reach version 3")
            return
        }
        let ranked = { (word: String) in
            current.search(phrases: [word], episodes: 1, tokens: 1, topK: 10, allowed: nil, excluded: []).map(\.episodeID)
        }
        #expect(ranked("okapi") == ["x"] && ranked("piano").isEmpty, "read at \(readAt)")
        #expect(index.edited == [1: 3, 2: 1, 3: 0][readAt]!)
    }

    /// An insert extends only the postings of the version it followed: after another writer's
    /// change, or this process's own update, the postings are stale and stay so.
    @Test func anInsertAfterAnotherChangeDoesNotExtend() async throws {
        try await Self.withStore(episodes: 100) { store, tmp in
            try await Self.search(store, times: 2)
            try await Self.waitForLoads(store, 1)
            let other = try tmp.open(columns: [])
            _ = try await other.add([NewEpisode(Episode(id: "o1", agentID: "target", content: "zebra from elsewhere"))])
            _ = try await store.add([NewEpisode(Episode(id: "m1", agentID: "target", content: "zebra here"))])
            #expect(store.lexicalMemory.edited == 0)
            #expect(
                try await store.lexicalSearch(query: "zebra", topK: 10, agentID: "target", filter: nil).map(\.episodeID).sorted()
                    == ["m1", "o1"])
            for query in Self.queries + ["zebra"] { try expectSameRanking(store, query) }
            await other.close()
        }
    }

    /// A load whose postings go stale before they are used waits for a longer quiet streak next
    /// time: an agent written between searches soon costs no loads.
    @Test func wastedLoadsMakeTheNextOneWaitLonger() async throws {
        try await Self.withStore(episodes: 50) { store, tmp in
            // The writes come from another connection: this process's own inserts would extend
            // the postings instead.
            let other = try tmp.open(columns: [])
            try await Self.search(store, times: 2)
            try await Self.waitForLoads(store, 1)
            // A write, then searches: the first finds the loaded postings stale (unused: wasted).
            _ = try await other.add([NewEpisode(Episode(id: "w1", agentID: "target", content: "piano"))])
            try await Self.search(store, times: 3)
            try await Task.sleep(for: .milliseconds(200))
            #expect(store.lexicalMemory.loadsCompleted == 1, "three searches started a load after a wasted one")
            try await Self.search(store, times: 1)
            try await Self.waitForLoads(store, 2)
            // Used often enough, a load pays off and the next needs two quiet searches again.
            try await Self.search(store, times: LexicalMemoryIndex.paysOff)
            _ = try await other.add([NewEpisode(Episode(id: "w2", agentID: "target", content: "piano"))])
            try await Self.search(store, times: 2)
            try await Self.waitForLoads(store, 3)
            await other.close()
        }
    }

    @Test func theBudgetBoundsWhatIsKept() async throws {
        try await Self.withStore(episodes: 200) { setup, tmp in
            var other = Self.texts(200)
            for i in other.indices { other[i].agentID = "second" }
            _ = try await setup.add(other.map { NewEpisode($0) })
            await setup.close() // the stores below open the file with other budgets

            // No budget: nothing is ever loaded, and the ranking is FTS5's.
            let none = try SQLiteEpisodeStore(path: tmp.path, configuration: .init(lexicalMemoryBytes: 0))
            try await Self.search(none, times: 3)
            try await Task.sleep(for: .milliseconds(300))
            #expect(none.lexicalMemory.bytes == 0)
            await none.close()

            // Room for one agent: the second one's postings replace the first's.
            let probe = try SQLiteEpisodeStore(path: tmp.path, configuration: .init())
            try await Self.search(probe, times: 2)
            try await Self.waitForLoads(probe, 1)
            let one = probe.lexicalMemory.bytes
            await probe.close()
            let small = try SQLiteEpisodeStore(path: tmp.path, configuration: .init(lexicalMemoryBytes: one * 3 / 2))
            for agent in ["target", "second"] {
                try await Self.search(small, agent: agent, times: 2)
                try await Self.waitForLoads(small, agent == "target" ? 1 : 2)
                #expect(small.lexicalMemory.bytes > 0 && small.lexicalMemory.bytes <= one * 3 / 2)
            }
            #expect(small.lexicalMemory.agents == 1)
            await small.close()

            // Postings larger than their estimate (every word unique: the terms dominate) and than
            // the budget: loaded once, then known to be too large.
            let words = try tmp.open(columns: [])
            let unique = (0..<200).map { i in
                NewEpisode(Episode(id: "u\(i)", agentID: "unique", content: (0..<20).map { "w\(i)x\($0)" }.joined(separator: " ")))
            }
            _ = try await words.add(unique)
            await words.close()
            let tiny = try SQLiteEpisodeStore(path: tmp.path, configuration: .init(lexicalMemoryBytes: 100_000))
            try await Self.search(tiny, agent: "unique", query: "w1x1", times: 2)
            try await Self.waitForLoads(tiny, 1)
            try await Self.search(tiny, agent: "unique", query: "w1x1", times: 10)
            try await Task.sleep(for: .milliseconds(300))
            #expect(tiny.lexicalMemory.loadsCompleted == 1 && tiny.lexicalMemory.bytes == 0)
            await tiny.close()
        }
    }
}
