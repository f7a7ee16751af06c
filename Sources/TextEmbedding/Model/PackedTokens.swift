/// The real tokens of a padded batch laid end to end, padding removed: linear layers then run on
/// exactly the tokens that matter, and attention runs within each sequence. Equivalent to the
/// padded computation with an attention mask, for every token whose mask is 1.
struct PackedTokens: Sendable {
    /// Token ids, types and positions (the index within the padded row), one per real token.
    var ids: [Int32] = []
    var typeIDs: [Int32] = []
    var positions: [Int32] = []
    /// The token range of each row of the batch.
    var sequences: [Range<Int>] = []

    var count: Int { ids.count }
    var longest: Int { sequences.map(\.count).max() ?? 0 }

    init(_ batch: TokenBatch) {
        let reserve = batch.attentionMask.reduce(0) { $0 + Int($1 != 0 ? 1 : 0) }
        ids.reserveCapacity(reserve)
        typeIDs.reserveCapacity(reserve)
        positions.reserveCapacity(reserve)
        for row in 0..<batch.batchSize {
            let start = ids.count
            for j in 0..<batch.sequenceLength where batch.attentionMask[row * batch.sequenceLength + j] != 0 {
                ids.append(batch.ids[row * batch.sequenceLength + j])
                typeIDs.append(batch.typeIDs[row * batch.sequenceLength + j])
                positions.append(Int32(j))
            }
            sequences.append(start..<ids.count)
        }
    }
}
