/// An exact, allocation-free map from UTF-8 byte strings to token ids (open addressing, FNV-1a).
///
/// Swift's `String` compares by canonical equivalence, so `[String: Int32]` would match "é"
/// (precomposed) against "e\u{301}" (decomposed); Hugging Face compares bytes. Keying by bytes
/// keeps lookups identical to the reference and avoids building a `String` per candidate piece.
struct VocabularyTable: Sendable {
    private var bytes: [UInt8] = []
    /// Per slot: offset into `bytes`, length, id; length −1 marks an empty slot.
    private var slots: [(offset: Int32, length: Int32, id: Int32)]
    private let mask: Int

    init<S: Sequence>(_ entries: S) where S.Element == (key: [UInt8], id: Int32) {
        let list = Array(entries)
        var capacity = 16
        while capacity < list.count * 2 { capacity <<= 1 }
        slots = Array(repeating: (0, -1, 0), count: capacity)
        mask = capacity - 1
        for (key, id) in list { insert(key, id) }
    }

    private mutating func insert(_ key: [UInt8], _ id: Int32) {
        let hash = key.withUnsafeBufferPointer { Self.hash($0) }
        var slot = hash & mask
        while slots[slot].length >= 0 {
            let existing = slots[slot]
            let same = key.withUnsafeBufferPointer { k in
                bytes.withUnsafeBufferPointer { b in
                    Int(existing.length) == k.count
                        && (k.isEmpty || memcmp(b.baseAddress! + Int(existing.offset), k.baseAddress!, k.count) == 0)
                }
            }
            if same { return } // first id wins, as in a JSON object read in order
            slot = (slot + 1) & mask
        }
        slots[slot] = (Int32(bytes.count), Int32(key.count), id)
        bytes.append(contentsOf: key)
    }

    @inline(__always)
    private static func hash(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    /// The id of exactly these bytes, if present.
    func id(of key: UnsafeBufferPointer<UInt8>) -> Int32? {
        var slot = Self.hash(key) & mask
        return bytes.withUnsafeBufferPointer { b in
            while true {
                let entry = slots[slot]
                if entry.length < 0 { return nil }
                if Int(entry.length) == key.count
                    && (key.isEmpty || memcmp(b.baseAddress! + Int(entry.offset), key.baseAddress!, key.count) == 0)
                {
                    return entry.id
                }
                slot = (slot + 1) & mask
            }
        }
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
