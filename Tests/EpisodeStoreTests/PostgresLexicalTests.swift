import EpisodeStore
import Foundation
import Logging
import PostgresNIO
import TestSupport
import Testing
import VectorSearch

@testable import PostgresEpisodeStore

/// PostgreSQL's lexical search: BM25 over the lexemes PostgreSQL itself stores (`tsvector`), read
/// from the vectors' text form, and the candidate limit's two paths.
@Suite struct PostgresLexicalTests {
    static let column = VectorColumn(name: "vector_fastembed", role: .fast, dimension: 4, modelID: "random")
    static let logger = Logger(label: "episodic.tests.lexical")

    @Test func theTextFormIsReadWithItsEscapesAndPositionCounts() {
        // 'a''b' is a'b, 'c\\d' is c\d; a lexeme without positions counts once.
        let scanned = TSVectorText.scan(
            #"'a''b':1 'c\\d':2,3B 'nopos' 'x':4,5,6A"#, terms: ["a'b", #"c\d"#, "nopos", "absent", "x"].map { Array($0.utf8) })
        #expect(scanned.length == 7)
        #expect(scanned.frequencies == [1, 2, 1, 0, 3])
        #expect(TSVectorText.scan("", terms: [Array("a".utf8)]) == (0, [0]))
    }

    /// Runs `body` on a new store (see ``store()``) with its schema's name, then closes the store
    /// and drops the schema — awaited, whether `body` succeeded or threw.
    static func withStore(_ body: (PostgresEpisodeStore, String) async throws -> Void) async throws {
        let (store, schema) = try await Self.store()
        var failure: (any Error)?
        do { try await body(store, schema) } catch { failure = error }
        await store.close()
        await PostgresTestDatabase.drop(schema: schema)
        if let failure { throw failure }
    }

    /// A store with one agent's texts of a small vocabulary (so that terms recur and lengths
    /// differ) beside another agent's.
    static func store() async throws -> (PostgresEpisodeStore, String) {
        let (url, schema) = try PostgresTestDatabase.url()
        let store = try await PostgresEpisodeStore.open(url: url, configuration: .init(columns: [Self.column], createIfMissing: true))
        let words = [
            "invoice", "payment", "refund", "O'Neill", "deploy", "service", "rollback", "meeting", "Lisbon", "flight", "hotel",
            "back\\slash", "invoices", "paid", "deployed",
        ]
        var random = SeededRandom(state: 77)
        var episodes: [NewEpisode] = []
        for i in 0..<60 {
            let count = 3 + Int(random.next() % 14)
            let text = (0..<count).map { _ in words[Int(random.next() % UInt64(words.count))] }.joined(separator: " ")
            episodes.append(NewEpisode(Episode(id: "e\(i)", agentID: i < 48 ? "a" : "other", content: text), vectors: [:]))
        }
        try await store.add(episodes)
        return (store, schema)
    }

    /// BM25 computed here from PostgreSQL's own lexemes and positions (`unnest(lexical)`), for
    /// every document of the agent holding a query lexeme: best first, ties by id.
    static func reference(_ store: PostgresEpisodeStore, schema: String, query: String, agent: String) async throws -> [(String, Double)] {
        let words = LexicalQuery.terms(in: query).joined(separator: " ")
        let logger = Self.logger
        let (queryLexemes, lexemes) = try await store.read { connection in
            let q = try await connection.query(
                "SELECT lexeme, coalesce(array_length(positions, 1), 1) FROM unnest(to_tsvector('english', \(words)))",
                logger: logger
            ).collect().map { try $0.decode((String, Int).self) }
            let rows = try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT e.id, u.lexeme, coalesce(array_length(u.positions, 1), 1)
                        FROM "\(schema)".episodes e, unnest(e.lexical) u WHERE e.agent_id = $1
                        """, binds: try PostgresEpisodeStore.bindings(agent)), logger: logger
            ).collect().map { try $0.decode((String, String, Int).self) }
            return (q, rows)
        }
        var documents: [String: [String: Int]] = [:]
        for (id, lexeme, count) in lexemes { documents[id, default: [:]][lexeme] = count }
        let n = Double(documents.count)
        let average = Double(documents.values.reduce(0) { $0 + $1.values.reduce(0, +) }) / n
        let matching = documents.filter { doc in queryLexemes.contains { doc.value[$0.0] != nil } }
        var scores: [(String, Double)] = matching.map { id, terms in
            let length = Double(terms.values.reduce(0, +))
            var score = 0.0
            for (lexeme, qtf) in queryLexemes {
                guard let tf = terms[lexeme].map(Double.init) else { continue }
                let df = Double(matching.values.filter { $0[lexeme] != nil }.count)
                let idf = max(1e-6, log((n - df + 0.5) / (df + 0.5)))
                score += Double(qtf) * idf * tf * (1.2 + 1) / (tf + 1.2 * (1 - 0.75 + 0.75 * length / average))
            }
            return (id, score)
        }
        scores.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
        return scores
    }

    @Test func scoresAreBM25OfPostgresOwnLexemes() async throws {
        try await Self.withStore { store, schema in
            for query in ["invoice payment", "refund refund O'Neill", "deploying services", "back\\slash hotel flight", "Lisbon"] {
                let expected = try await Self.reference(store, schema: schema, query: query, agent: "a")
                let hits = try await store.lexicalSearch(query: query, topK: 100, agentID: "a", filter: nil)
                #expect(!expected.isEmpty, "the query \(query) should match")
                #expect(hits.map(\.episodeID) == expected.map(\.0), "\(query)")
                for (hit, (_, score)) in zip(hits, expected) {
                    #expect(abs(hit.score - score) <= 1e-12 * max(1, abs(score)), "\(query): \(hit.episodeID) \(hit.score) vs \(score)")
                }
            }
        }
    }

    /// Past the candidate limit, the rows `ts_rank_cd` ranks first are scored; within it, all of
    /// them — the same results as a limit far above the matches.
    @Test func theCandidateLimitKeepsTheRowsTsRankCdRanksFirst() async throws {
        try await Self.withStore { store, schema in
            let query = "invoice payment deploy"
            let all = try await store.lexicalSearch(query: query, topK: 1000, agentID: "a", filter: nil, candidateLimit: 1_000_000)
            #expect(all.count > 8)
            let exact = try await store.lexicalSearch(query: query, topK: 1000, agentID: "a", filter: nil, candidateLimit: all.count)
            #expect(exact.map(\.episodeID) == all.map(\.episodeID))
            let firstByRank = try await store.read { connection in
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            SELECT id FROM "\(schema)".episodes WHERE agent_id = 'a' AND lexical @@ to_tsquery('english', 'invoice | payment | deploy')
                            ORDER BY ts_rank_cd(lexical, to_tsquery('english', 'invoice | payment | deploy')) DESC, id LIMIT 5
                            """), logger: Self.logger
                ).collect().map { try $0.decode(String.self) }
            }
            let limited = try await store.lexicalSearch(query: query, topK: 1000, agentID: "a", filter: nil, candidateLimit: 5)
            #expect(limited.count == 5)
            #expect(Set(limited.map(\.episodeID)) == Set(firstByRank))
        }
    }
}
