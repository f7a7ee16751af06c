import CKernels
import CPUFeatures
import Foundation
import Testing

@testable import VectorSearch

/// Deterministic pseudo-random numbers for reproducible test data.
struct SeededRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state
    }
    /// Approximately standard normal (sum of uniforms).
    mutating func gaussian() -> Float {
        var s: Float = 0
        for _ in 0..<6 { s += Float(next() >> 40) / Float(1 << 24) }
        return s - 3
    }
    mutating func unitVector(_ dimension: Int) -> [Float] {
        let v = (0..<dimension).map { _ in gaussian() }
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / norm }
    }
}

/// Brute force: every vector scored with the same float32 dot, sorted by score desc, id asc.
func bruteForce(_ vectors: [(id: String, vector: [Float])], query: [Float], k: Int) -> [(String, Float)] {
    vectors.map { ($0.id, VectorKernels.dot($0.vector, query)) }
        .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
        .prefix(k).map { $0 }
}

@Suite struct VectorIndexTests {
    let column = VectorColumn(name: "vector_fastembed", role: .fast, dimension: 64, modelID: "test")

    @Test func equalsBruteForceOnRandomVectors() throws {
        // 5,000 vectors in one agent: above the exact-scan limit, so the int8 pass and rescoring run.
        var random = SeededRandom(state: 7)
        let index = VectorIndex(column: column)
        let vectors = (0..<5000).map { (id: "e\($0)", vector: random.unitVector(64)) }
        try index.upsert(vectors.map { ($0.id, "agent", $0.vector) })
        for _ in 0..<20 {
            let query = random.unitVector(64)
            for k in [1, 10, 100] {
                let hits = try index.search(query, agentID: "agent", topK: k)
                let expected = bruteForce(vectors, query: query, k: k)
                #expect(hits.map(\.episodeID) == expected.map(\.0))
                #expect(hits.map(\.score) == expected.map(\.1))
                #expect(hits.allSatisfy { $0.column == "vector_fastembed" })
            }
        }
    }

    @Test func replacingTheContentsTakesTheOtherIndexWhole() throws {
        var random = SeededRandom(state: 31)
        let index = VectorIndex(column: column), built = VectorIndex(column: column)
        try index.upsert((0..<50).map { ("old\($0)", "agent", random.unitVector(64)) })
        try index.upsert(episodeID: "gone", agentID: "other", vector: random.unitVector(64))
        let vectors = (0..<300).map { (id: "new\($0)", vector: random.unitVector(64)) }
        try built.upsert(vectors.map { ($0.id, "agent", $0.vector) })
        index.replaceContents(with: built)
        #expect(index.agentCounts() == ["agent": 300])
        let query = random.unitVector(64)
        #expect(try index.search(query, agentID: "agent", topK: 20).map(\.episodeID) == bruteForce(vectors, query: query, k: 20).map(\.0))
        // The two stay independent afterwards.
        try built.upsert(episodeID: "later", agentID: "agent", vector: random.unitVector(64))
        #expect(index.count(agentID: "agent") == 300 && built.count(agentID: "agent") == 301)
    }

    @Test func clusteredVectorsWithNearTiesStillMatch() throws {
        // Near-duplicates make many scores differ by less than the int8 error: the bounds must
        // send all of them to float32 rescoring.
        var random = SeededRandom(state: 11)
        let center = random.unitVector(64)
        let vectors = (0..<3000).map { i -> (id: String, vector: [Float]) in
            let noise = random.unitVector(64)
            let v = zip(center, noise).map { $0 + 0.02 * $1 }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return ("c\(i)", v.map { $0 / norm })
        }
        let index = VectorIndex(column: column)
        try index.upsert(vectors.map { ($0.id, "a", $0.vector) })
        for _ in 0..<5 {
            let query = zip(center, random.unitVector(64)).map { $0 + 0.05 * $1 }
            let hits = try index.search(query, agentID: "a", topK: 100)
            #expect(hits.map(\.episodeID) == bruteForce(vectors, query: query, k: 100).map(\.0))
        }
    }

    @Test func exactTiesAreBrokenByIdAscending() throws {
        let index = VectorIndex(column: column)
        let v = [Float](repeating: 0.125, count: 64)
        for id in ["b", "c", "a", "d"] { try index.upsert(episodeID: id, agentID: "x", vector: v) }
        #expect(try index.search(v, agentID: "x", topK: 3).map(\.episodeID) == ["a", "b", "c"])
    }

    @Test func exactTiesAcrossTheKthPlaceInTheInt8PathAreBrokenById() throws {
        // 700 vectors stored under three ids each (2,100 rows, int8 path): every cut at k falls
        // inside a group of equal scores, and rescoring must not stop before the smaller ids.
        var random = SeededRandom(state: 21)
        var vectors: [(id: String, vector: [Float])] = []
        for i in 0..<700 {
            let v = random.unitVector(64)
            for copy in [2, 0, 1] { vectors.append(("t\(copy)-\(i)", v)) }
        }
        let index = VectorIndex(column: column)
        try index.upsert(vectors.map { ($0.id, "a", $0.vector) })
        for k in [1, 2, 50, 100, 101] {
            let query = random.unitVector(64)
            let hits = try index.search(query, agentID: "a", topK: k)
            #expect(hits.map(\.episodeID) == bruteForce(vectors, query: query, k: k).map(\.0), "k = \(k)")
        }
    }

    @Test func returnsExactlyMinOfKAndTheAgentsCountNeverShortBecauseOfTheFilter() throws {
        var random = SeededRandom(state: 3)
        let index = VectorIndex(column: column)
        // 100 agents, 2,000 vectors: each agent's results come from its own vectors only.
        var byAgent: [String: [(id: String, vector: [Float])]] = [:]
        for i in 0..<2000 {
            let agent = "agent-\(i % 100)"
            let entry = (id: "v\(i)", vector: random.unitVector(64))
            byAgent[agent, default: []].append(entry)
            try index.upsert(episodeID: entry.id, agentID: agent, vector: entry.vector)
        }
        let query = random.unitVector(64)
        for (agent, vectors) in byAgent {
            let hits = try index.search(query, agentID: agent, topK: 100)
            #expect(hits.count == min(100, vectors.count))
            #expect(hits.map(\.episodeID) == bruteForce(vectors, query: query, k: 100).map(\.0))
        }
        #expect(try index.search(query, agentID: "nobody", topK: 10).isEmpty)
        #expect(index.count == 2000)
        #expect(index.count(agentID: "agent-7") == 20)
    }

    @Test func removalAndReplacementKeepResultsExact() throws {
        var random = SeededRandom(state: 5)
        let index = VectorIndex(column: column)
        var vectors = (0..<1500).map { (id: "r\($0)", vector: random.unitVector(64)) }
        try index.upsert(vectors.map { ($0.id, "a", $0.vector) })
        // Remove every third, then upsert every fifth (re-adding removed ones); the same id in
        // another agent is another episode.
        for i in stride(from: 0, to: 1500, by: 3) { index.remove(agentID: "a", episodeID: "r\(i)") }
        for i in stride(from: 1, to: 1500, by: 5) {
            let v = random.unitVector(64)
            try index.upsert(episodeID: "r\(i)", agentID: "a", vector: v)
            vectors[i].vector = v
        }
        try index.upsert(episodeID: "r2", agentID: "b", vector: vectors[2].vector)
        let remaining = vectors.enumerated().filter { $0.offset % 3 != 0 || $0.offset % 5 == 1 }.map(\.element)
        #expect(index.count(agentID: "a") == remaining.count)
        #expect(index.count(agentID: "b") == 1)
        #expect(index.vector(agentID: "a", episodeID: "r4") == vectors[4].vector)
        #expect(index.vector(agentID: "a", episodeID: "r3") == nil)
        #expect(index.vector(agentID: "b", episodeID: "r2") == vectors[2].vector)
        #expect(!index.remove(agentID: "b", episodeID: "r4"))
        let query = random.unitVector(64)
        #expect(try index.search(query, agentID: "a", topK: 50).map(\.episodeID) == bruteForce(remaining, query: query, k: 50).map(\.0))
        // Forgetting an agent empties its partition and nothing else.
        #expect(index.removeAgent("b") == 1)
        #expect(index.count(agentID: "b") == 0 && index.count(agentID: "a") == remaining.count)
    }

    @Test func dimensionAndNaNAreTypedErrors() throws {
        let index = VectorIndex(column: column)
        #expect(throws: VectorError.dimensionMismatch(column: "vector_fastembed", expected: 64, actual: 3)) {
            try index.upsert(episodeID: "x", agentID: "a", vector: [1, 2, 3])
        }
        var bad = [Float](repeating: 0, count: 64)
        bad[7] = .nan
        #expect(throws: VectorError.nonFiniteValue(column: "vector_fastembed", index: 7)) {
            try index.upsert(episodeID: "x", agentID: "a", vector: bad)
        }
        bad[7] = -.infinity
        #expect(throws: VectorError.nonFiniteValue(column: "vector_fastembed", index: 7)) {
            try index.search(bad, agentID: "a", topK: 1)
        }
        #expect(throws: VectorError.dimensionMismatch(column: "vector_fastembed", expected: 64, actual: 65)) {
            try index.search([Float](repeating: 0, count: 65), agentID: "a", topK: 1)
        }
        // A bad entry in a batch leaves the index untouched.
        #expect(throws: VectorError.self) {
            try index.upsert([("ok", "a", [Float](repeating: 0.1, count: 64)), ("bad", "a", [1])])
        }
        #expect(index.count == 0)
    }

    /// Every vector path this CPU runs: the dot within float32 rounding of a double sum, for lengths
    /// around each of its loops' steps (8 and 32) and the models' dimensions, from unaligned
    /// addresses; the path this process uses is the fastest one.
    @Test(arguments: [Int32(EK_VEC_PORTABLE), Int32(EK_VEC_AVX2)])
    func dotMatchesADoubleSumOnEveryPath(path: Int32) {
        if path == EK_VEC_PORTABLE { #expect(ek_vec_path_supported(path) != 0, "the portable path runs everywhere") }
        guard ek_vec_path_supported(path) != 0 else { return } // no AVX2 on this CPU: nothing to run
        var random = SeededRandom(state: 21)
        for count in Array(0...72) + [95, 96, 97, 383, 384, 385, 768, 1024] {
            let a = [Float(0)] + (0..<count).map { _ in random.gaussian() }
            let b = [Float(0)] + (0..<count).map { _ in random.gaussian() }
            let exact = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let magnitude = zip(a, b).reduce(0.0) { $0 + abs(Double($1.0) * Double($1.1)) }
            let got = a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in ek_dot_f32(path, pa.baseAddress! + 1, pb.baseAddress! + 1, count) }
            }
            #expect(abs(Double(got) - exact) <= Double(count + 1) * 1.2e-7 * magnitude, "path \(path), \(count) floats")
        }
        #expect(ek_vec_path_supported(VectorKernels.path) != 0)
        #expect(VectorKernels.path == SearchKernel.selected.code)
        #expect(SearchKernel.selected == SearchKernel.best(allowing: CPUFeatureRestriction.current))
        if SearchKernel.avx2.isSupported && CPUFeatureRestriction.current == nil { #expect(SearchKernel.selected == .avx2) }
        // EPISODIC_CPU_FEATURES narrows the choice: `none` (or a list without avx2) leaves the
        // portable kernel, `avx2` or no restriction the AVX2 one where the CPU has it.
        #expect(SearchKernel.best(allowing: ["none"]) == .portable)
        #expect(SearchKernel.best(allowing: ["avx512vnni"]) == .portable)
        #expect(SearchKernel.best(allowing: ["avx2"]) == (SearchKernel.avx2.isSupported ? .avx2 : .portable))
        #expect(SearchKernel.best(allowing: nil) == (SearchKernel.avx2.isSupported ? .avx2 : .portable))
    }

    /// The quantizers' rounding in a build for the baseline CPU (a float-to-int conversion, not a
    /// libm call) is Swift's `.toNearestOrEven`: ties, signs, the edges of the conversion's range,
    /// floats that are integers already, and a sweep of quarters.
    @Test func baselineRoundingIsNearestEven() {
        var values: [Float] = [0, -0.0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 126.5, 127.5, -127.5, 255.5]
        values += [8_388_607.5, -8_388_607.5, 8_388_608, 8_388_609, 16_777_216, 3e9, -3e9, .greatestFiniteMagnitude]
        values += [Float.leastNonzeroMagnitude, -Float.leastNonzeroMagnitude, .infinity, -.infinity]
        values += (-1200...1200).map { Float($0) / 4 }
        for x in values {
            // (== takes −0 and +0 as equal: the sign of a zero code is lost in the int8 anyway.)
            #expect(ek_round_even_baseline(x) == x.rounded(.toNearestOrEven), "\(x) → \(ek_round_even_baseline(x))")
        }
        #expect(ek_round_even_baseline(.nan).isNaN)
    }

    /// The candidate scan keeps every row of the exact top-k (scores in double), keeps few rows on
    /// spread-out data, and keeps all of them when every row scores the same — on every path this
    /// CPU runs, each keeping the same rows as the portable one (they sum the same integers).
    @Test(arguments: [Int32(EK_VEC_PORTABLE), Int32(EK_VEC_AVX2)])
    func candidateScanKeepsTheExactTopK(path: Int32) {
        guard ek_vec_path_supported(path) != 0 else { return } // no AVX2 on this CPU: nothing to run
        var random = SeededRandom(state: 9)
        for (dim, rows, k) in [(1, 40, 3), (31, 301, 5), (33, 257, 10), (384, 3001, 100), (1024, 203, 7)] {
            let vectors = (0..<rows).map { _ in random.unitVector(dim) }
            let query = random.unitVector(dim)
            let partition = QuantizedRows(vectors)
            var queryCodes = [Int8](repeating: 0, count: dim)
            let q = VectorKernels.quantize(query, count: dim, into: &queryCodes)
            let queryNorm = VectorKernels.dot(query, query, count: dim).squareRoot()
            let slack = Float(dim + 16) * 2.5e-7 * queryNorm
            let found = partition.candidates(queryCodes, q, queryNorm: queryNorm, slack: slack, k: k, path: path)
            #expect(Set(found).count == found.count, "dim \(dim): a row kept twice")
            let portable = partition.candidates(queryCodes, q, queryNorm: queryNorm, slack: slack, k: k, path: Int32(EK_VEC_PORTABLE))
            #expect(Set(found) == Set(portable), "dim \(dim): path \(path) kept other rows than the portable one")
            let exact = vectors.map { v in zip(v, query).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
            let kth = exact.sorted(by: >)[k - 1]
            let needed = Set(exact.indices.filter { exact[$0] >= kth })
            #expect(needed.isSubset(of: found), "dim \(dim): rows of the top \(k) missing")
            if dim >= 31 { #expect(found.count < rows / 2, "dim \(dim): \(found.count) of \(rows) kept") }
        }
        // Equal rows: every bound interval overlaps the k-th, so all rows stay.
        let same = [[Float]](repeating: random.unitVector(64), count: 50)
        var queryCodes = [Int8](repeating: 0, count: 64)
        let query = random.unitVector(64)
        let q = VectorKernels.quantize(query, count: 64, into: &queryCodes)
        #expect(QuantizedRows(same).candidates(queryCodes, q, queryNorm: 1, slack: 1e-4, k: 5, path: path).count == 50)
        #expect(QuantizedRows(same).candidates(queryCodes, q, queryNorm: 1, slack: 1e-4, k: 51, path: path) == [-1])
    }
}

/// Rows quantized as ``AgentPartition`` stores them, for calling the candidate kernel directly.
struct QuantizedRows {
    var codes: [Int8] = [], bounds: [ek_row_bounds] = []
    let count: Int, dim: Int

    init(_ vectors: [[Float]]) {
        count = vectors.count
        dim = vectors[0].count
        for v in vectors {
            var c = [Int8](repeating: 0, count: dim)
            let q = VectorKernels.quantize(v, count: dim, into: &c)
            codes += c
            bounds.append(ek_row_bounds(scale: q.scale, residual_norm: q.residualNorm, code_norm: q.codeNorm, reserved: 0))
        }
    }

    /// The kept rows, or `[-1]` when the kernel refuses `k`.
    func candidates(
        _ query: [Int8], _ q: VectorKernels.Quantized, queryNorm: Float, slack: Float, k: Int, path: Int32
    ) -> [Int] {
        var kept = [Int32](repeating: 0, count: count)
        var uppers = [Float](repeating: 0, count: count)
        let n = ek_scan_candidates(
            path, codes, count, dim, query, bounds, q.scale, queryNorm,
            q.residualNorm, slack, k, &kept, &uppers)
        return n < 0 ? [Int(n)] : kept[0..<n].map { Int($0) }
    }
}
