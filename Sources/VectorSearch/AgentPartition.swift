import CKernels
import HeapModule

/// The vectors of one agent in one column: float32 vectors for exact scores, and an int8 copy with
/// per-vector error bounds for the fast first pass. Parallel arrays; a removal moves the last row
/// into the freed slot.
struct AgentPartition {
    let dimension: Int
    private(set) var ids: [String] = []
    private var slots: [String: Int] = [:]
    private var vectors: [Float] = []
    private var codes: [Int8] = []
    private var scales: [Float] = []
    private var residualNorms: [Float] = []
    private var codeNorms: [Float] = []

    init(dimension: Int) { self.dimension = dimension }

    /// Makes room for `total` vectors at once: a bulk load then never regrows (and re-copies)
    /// its arrays.
    mutating func reserve(total n: Int) {
        guard n > ids.count else { return }
        ids.reserveCapacity(n); slots.reserveCapacity(n)
        vectors.reserveCapacity(n * dimension); codes.reserveCapacity(n * dimension)
        scales.reserveCapacity(n); residualNorms.reserveCapacity(n); codeNorms.reserveCapacity(n)
    }

    var count: Int { ids.count }

    /// Below this many vectors (or 2·k) a search scores every float32 vector directly: the int8
    /// pass would not pay for its bookkeeping.
    static let exactScanLimit = 512

    func contains(_ id: String) -> Bool { slots[id] != nil }

    func vector(_ id: String) -> [Float]? {
        guard let slot = slots[id] else { return nil }
        return Array(vectors[(slot * dimension)..<((slot + 1) * dimension)])
    }

    /// Inserts or replaces the vector of `id` (already validated).
    mutating func upsert(_ id: String, _ vector: UnsafePointer<Float>) {
        let d = dimension
        let slot: Int
        if let existing = slots[id] {
            slot = existing
        } else {
            slot = ids.count
            ids.append(id)
            slots[id] = slot
            vectors.append(contentsOf: UnsafeBufferPointer(start: vector, count: d))
            codes.append(contentsOf: repeatElement(0, count: d))
            scales.append(0); residualNorms.append(0); codeNorms.append(0)
        }
        if slot < ids.count - 1 || vectors.count > (slot + 1) * d {
            vectors.withUnsafeMutableBufferPointer { ($0.baseAddress! + slot * d).update(from: vector, count: d) }
        }
        let q = codes.withUnsafeMutableBufferPointer { VectorKernels.quantize(vector, count: d, into: $0.baseAddress! + slot * d) }
        scales[slot] = q.scale
        residualNorms[slot] = q.residualNorm
        codeNorms[slot] = q.codeNorm
    }

    /// Removes `id`; returns whether it was present.
    @discardableResult
    mutating func remove(_ id: String) -> Bool {
        guard let slot = slots.removeValue(forKey: id) else { return false }
        let last = ids.count - 1
        let d = dimension
        if slot != last {
            let moved = ids[last]
            ids[slot] = moved
            slots[moved] = slot
            vectors.withUnsafeMutableBufferPointer { ($0.baseAddress! + slot * d).update(from: $0.baseAddress! + last * d, count: d) }
            codes.withUnsafeMutableBufferPointer { ($0.baseAddress! + slot * d).update(from: $0.baseAddress! + last * d, count: d) }
            scales[slot] = scales[last]
            residualNorms[slot] = residualNorms[last]
            codeNorms[slot] = codeNorms[last]
        }
        ids.removeLast()
        vectors.removeLast(d)
        codes.removeLast(d)
        scales.removeLast(); residualNorms.removeLast(); codeNorms.removeLast()
        return true
    }

    /// The `k` best vectors by inner product with `query` (length `dimension`), best first; ties
    /// broken by id ascending. Equal to scoring every vector with ``VectorKernels/dot`` and sorting.
    ///
    /// Large partitions: the int8 pass gives, for each vector, an interval guaranteed to hold its
    /// exact score (x·q − s_x s_q (c_x·c_q) = δx·q + s_x c_x·δq, bounded by Cauchy–Schwarz with
    /// the stored residual norms, plus float32 rounding slack). The k-th largest lower bound T is a
    /// lower bound of the k-th exact score, so only vectors whose upper bound reaches T can be in
    /// the result: those alone are rescored in float32.
    func search(_ query: UnsafePointer<Float>, k: Int) -> [(id: String, score: Float)] {
        guard k > 0, count > 0 else { return [] }
        // (k above 4096 exceeds the bounds kernel's heap: rare enough to scan exactly.)
        if count <= max(2 * k, Self.exactScanLimit) || k > 4096 {
            return best(k, among: 0..<count, query: query)
        }
        let d = dimension
        var queryCodes = [Int8](repeating: 0, count: d)
        let q = queryCodes.withUnsafeMutableBufferPointer { VectorKernels.quantize(query, count: d, into: $0.baseAddress!) }
        let queryNorm = VectorKernels.dot(query, query, count: d).squareRoot()
        var dots = [Int32](repeating: 0, count: count)
        codes.withUnsafeBufferPointer { c in
            queryCodes.withUnsafeBufferPointer { qc in
                dots.withUnsafeMutableBufferPointer { ek_dot_i8_rows(c.baseAddress!, count, d, qc.baseAddress!, $0.baseAddress!) }
            }
        }
        // Rounding of float32 sums: |fl(x·q) − x·q| ≤ γ_d ‖x‖‖q‖ for the exact score and the
        // approximation alike; doubled, with margin.
        let slack = Float(d + 16) * 2.5e-7 * queryNorm
        var uppers = [Float](repeating: 0, count: count)
        let threshold = scales.withUnsafeBufferPointer { s in
            residualNorms.withUnsafeBufferPointer { r in
                codeNorms.withUnsafeBufferPointer { n in
                    ek_score_bounds(dots, count, s.baseAddress!, r.baseAddress!, n.baseAddress!, q.scale, queryNorm,
                                    q.residualNorm, slack, min(k, count), &uppers)
                }
            }
        }
        var candidates: [Int] = []
        candidates.reserveCapacity(8 * k)
        for i in 0..<count where uppers[i] >= threshold { candidates.append(i) }
        return best(k, among: candidates, query: query)
    }

    /// Exact float32 scores of the given rows, the best `k` of them.
    private func best<C: Collection<Int>>(_ k: Int, among rows: C, query: UnsafePointer<Float>) -> [(id: String, score: Float)] {
        var heap = Heap<Ranked>()
        heap.reserveCapacity(k + 1)
        let d = dimension
        ids.withUnsafeBufferPointer { ids in
            vectors.withUnsafeBufferPointer { v in
                let base = v.baseAddress!
                var ahead = rows.startIndex
                // Candidate rows are scattered: keep a few rows' loads in flight.
                for _ in 0..<4 where ahead != rows.endIndex { prefetchRow(base + rows[ahead] * d); rows.formIndex(after: &ahead) }
                for row in rows {
                    if ahead != rows.endIndex { prefetchRow(base + rows[ahead] * d); rows.formIndex(after: &ahead) }
                    let ranked = Ranked(score: VectorKernels.dot(base + row * d, query, count: d), row: Int32(row), ids: ids)
                    if heap.count < k {
                        heap.insert(ranked)
                    } else if heap.min! < ranked {
                        heap.replaceMin(with: ranked)
                    }
                }
            }
        }
        var result: [(id: String, score: Float)] = []
        result.reserveCapacity(heap.count)
        while let top = heap.popMax() { result.append((ids[Int(top.row)], top.score)) }
        return result
    }

    @inline(__always)
    private func prefetchRow(_ row: UnsafePointer<Float>) {
        var offset = 0
        while offset < dimension { ek_prefetch(row + offset); offset += 16 }
    }
}

/// Orders search hits from worst to best: lower score first; among equal scores, the larger id is
/// worse (so that ties resolve by id ascending). Holds the row, not the id: ids are compared only
/// on exact ties.
struct Ranked: Comparable {
    var score: Float
    var row: Int32
    /// The partition's ids, valid while the search holds the index's read lock.
    var ids: UnsafeBufferPointer<String>

    static func < (a: Ranked, b: Ranked) -> Bool {
        a.score != b.score ? a.score < b.score : a.ids[Int(a.row)] > b.ids[Int(b.row)]
    }

    static func == (a: Ranked, b: Ranked) -> Bool { a.score == b.score && a.row == b.row }
}
