import CKernels
import HeapModule

/// The vectors of one agent in one column: float32 vectors for exact scores, and an int8 copy with
/// per-vector error bounds (`ek_row_bounds`) for the fast first pass. Parallel arrays; a removal
/// moves the last row into the freed slot.
struct AgentPartition {
    let dimension: Int
    private(set) var ids: [String] = []
    private var slots: [String: Int] = [:]
    private var vectors: [Float] = []
    private var codes: [Int8] = []
    private var bounds: [ek_row_bounds] = []

    init(dimension: Int) { self.dimension = dimension }

    /// Makes room for `total` vectors at once: a bulk load then never regrows (and re-copies)
    /// its arrays.
    mutating func reserve(total n: Int) {
        guard n > ids.count else { return }
        ids.reserveCapacity(n); slots.reserveCapacity(n)
        vectors.reserveCapacity(n * dimension); codes.reserveCapacity(n * dimension)
        bounds.reserveCapacity(n)
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

    /// The inner products of `query` with the stored vectors of `ids` (absent ids are skipped),
    /// read in place.
    func scores(of query: UnsafePointer<Float>, ids: [String]) -> [String: Float] {
        let d = dimension
        var found: [String: Float] = [:]
        found.reserveCapacity(ids.count)
        vectors.withUnsafeBufferPointer { all in
            for id in ids {
                guard let slot = slots[id] else { continue }
                found[id] = VectorKernels.dot(all.baseAddress! + slot * d, query, count: d)
            }
        }
        return found
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
            bounds.append(ek_row_bounds())
        }
        if slot < ids.count - 1 || vectors.count > (slot + 1) * d {
            vectors.withUnsafeMutableBufferPointer { ($0.baseAddress! + slot * d).update(from: vector, count: d) }
        }
        let q = codes.withUnsafeMutableBufferPointer { VectorKernels.quantize(vector, count: d, into: $0.baseAddress! + slot * d) }
        bounds[slot] = ek_row_bounds(scale: q.scale, residual_norm: q.residualNorm, code_norm: q.codeNorm, reserved: 0)
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
            bounds[slot] = bounds[last]
        }
        ids.removeLast()
        vectors.removeLast(d)
        codes.removeLast(d)
        bounds.removeLast()
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
            return best(k, among: (0..<count).lazy.map { (row: $0, upper: Float.infinity) }, query: query)
        }
        let d = dimension
        var queryCodes = [Int8](repeating: 0, count: d)
        let q = queryCodes.withUnsafeMutableBufferPointer { VectorKernels.quantize(query, count: d, into: $0.baseAddress!) }
        let queryNorm = VectorKernels.dot(query, query, count: d).squareRoot()
        // Rounding of float32 sums: |fl(x·q) − x·q| ≤ γ_d ‖x‖‖q‖ for the exact score and the
        // approximation alike; doubled, with margin.
        let slack = Float(d + 16) * 2.5e-7 * queryNorm
        // Uninitialised scratch: only the first few hundred entries are ever touched.
        let candidates = UnsafeMutablePointer<Int32>.allocate(capacity: count)
        let uppers = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { candidates.deallocate(); uppers.deallocate() }
        let found = codes.withUnsafeBufferPointer { c in
            queryCodes.withUnsafeBufferPointer { qc in
                bounds.withUnsafeBufferPointer { b in
                    ek_scan_candidates(
                        VectorKernels.path, c.baseAddress!, count, d, qc.baseAddress!, b.baseAddress!, q.scale, queryNorm,
                        q.residualNorm, slack, k, candidates, uppers)
                }
            }
        }
        precondition(found >= 0, "candidate scan rejected k = \(k) for \(count) rows")
        // Best upper bound first: rescoring stops at the first row whose upper bound is below the
        // k-th exact score found so far (typically after k + a few of several hundred).
        var ordered = (0..<found).map { (row: Int(candidates[$0]), upper: uppers[$0]) }
        ordered.sort { $0.upper > $1.upper }
        return best(k, among: ordered, query: query)
    }

    /// The `k` best among the vectors of `allowed` (ids not in the partition are ignored), exactly
    /// as ``search(_:k:)`` would rank them. A small allowed set is scored directly; a large one
    /// through over-fetching the unrestricted search.
    func search(_ query: UnsafePointer<Float>, k: Int, only allowed: Set<String>) -> [(id: String, score: Float)] {
        guard k > 0 else { return [] }
        let rows = allowed.compactMap { slots[$0] }
        if rows.count <= Self.exactScanLimit || rows.count * 4 <= count {
            return best(k, among: rows.lazy.map { (row: $0, upper: Float.infinity) }, query: query)
        }
        return overFetch(query, k: k, passing: rows.count) { allowed.contains($0) }
    }

    /// The `k` best vectors whose ids are not in `excluded`.
    func search(_ query: UnsafePointer<Float>, k: Int, excluding excluded: Set<String>) -> [(id: String, score: Float)] {
        let present = excluded.reduce(0) { $0 + (slots[$1] == nil ? 0 : 1) }
        return overFetch(query, k: k, passing: count - present) { !excluded.contains($0) }
    }

    /// The unrestricted ranking cut to the ids that pass: its order is the exact order, so the
    /// first `k` that pass are the restricted top-k. Fetches enough for the expected share of
    /// passing ids, doubling until `k` pass or the whole partition was ranked.
    private func overFetch(_ query: UnsafePointer<Float>, k: Int, passing: Int, _ passes: (String) -> Bool) -> [(id: String, score: Float)]
    {
        guard k > 0, passing > 0 else { return [] }
        let wanted = min(k, passing)
        var fetch = min(count, Int((Double(k) * Double(count) / Double(passing)).rounded(.up)) + 16)
        while true {
            let kept = search(query, k: fetch).filter { passes($0.id) }
            if kept.count >= wanted || fetch >= count { return Array(kept.prefix(k)) }
            fetch = min(count, fetch * 2)
        }
    }

    /// Exact float32 scores of the given rows, the best `k` of them. `upper` bounds each row's
    /// score; the rows come in decreasing order of it, or with +∞ (all scored).
    private func best<C: Collection<(row: Int, upper: Float)>>(_ k: Int, among rows: C, query: UnsafePointer<Float>)
        -> [(id: String, score: Float)]
    {
        // The running k-th best score on a heap of plain floats; every row scoring at least that
        // much when seen is kept (ties included), and only those few are sorted with their ids.
        var kth = Heap<Float>()
        kth.reserveCapacity(k + 1)
        var kept: [(row: Int, score: Float)] = []
        kept.reserveCapacity(2 * k)
        let d = dimension
        vectors.withUnsafeBufferPointer { v in
            let base = v.baseAddress!
            var ahead = rows.startIndex
            // Candidate rows are scattered: keep a few rows' loads in flight.
            for _ in 0..<4 where ahead != rows.endIndex { prefetchRow(base + rows[ahead].row * d); rows.formIndex(after: &ahead) }
            for (row, upper) in rows {
                // Ties with the k-th score are scored: the id decides them.
                if kth.count == k, upper < kth.min! { break }
                if ahead != rows.endIndex { prefetchRow(base + rows[ahead].row * d); rows.formIndex(after: &ahead) }
                let score = VectorKernels.dot(base + row * d, query, count: d)
                if kth.count < k {
                    kth.insert(score)
                } else if score >= kth.min! {
                    if score > kth.min! { kth.replaceMin(with: score) }
                } else {
                    continue
                }
                kept.append((row, score))
            }
        }
        return ids.withUnsafeBufferPointer { ids in
            kept.sort { $0.score != $1.score ? $0.score > $1.score : ids[$0.row] < ids[$1.row] }
            return kept.prefix(k).map { (ids[$0.row], $0.score) }
        }
    }

    @inline(__always)
    private func prefetchRow(_ row: UnsafePointer<Float>) {
        var offset = 0
        while offset < dimension { ek_prefetch(row + offset); offset += 16 }
    }
}
