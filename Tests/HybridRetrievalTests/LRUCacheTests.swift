import Testing

@testable import HybridRetrieval

@Suite struct LRUCacheTests {
    @Test func evictsTheLeastRecentlyUsedAndCounts() {
        let cache = LRUCache<String, Int>(capacity: 3)
        #expect(cache.insert(1, for: "a") == nil)
        cache.insert(2, for: "b")
        cache.insert(3, for: "c")
        #expect(cache.value(for: "a") == 1) // a becomes most recent
        #expect(cache.insert(4, for: "d") == "b") // b was least recent
        #expect(cache.value(for: "b") == nil)
        #expect(cache.keysByRecency == ["d", "a", "c"])
        cache.insert(30, for: "c") // replace: no eviction, becomes most recent
        #expect(cache.keysByRecency == ["c", "d", "a"])
        #expect(cache.value(for: "c") == 30)
        #expect(cache.remove("d"))
        #expect(!cache.remove("d"))
        cache.insert(5, for: "e")
        cache.insert(6, for: "f") // full again: evicts a
        #expect(cache.keysByRecency == ["f", "e", "c"])
        let s = cache.statistics
        #expect(s.hits == 2 && s.misses == 1 && s.evictions == 2 && s.count == 3 && s.capacity == 3)
    }

    @Test func capacityOfOneAndManyEntries() {
        let one = LRUCache<Int, Int>(capacity: 1)
        one.insert(1, for: 1)
        #expect(one.insert(2, for: 2) == 1)
        #expect(one.keysByRecency == [2])
        let big = LRUCache<Int, Int>(capacity: 1000)
        for i in 0..<2500 { big.insert(i, for: i) }
        #expect(big.statistics.count == 1000 && big.statistics.evictions == 1500)
        #expect(big.value(for: 1499) == nil && big.value(for: 1500) == 1500 && big.value(for: 2499) == 2499)
        #expect(big.keysByRecency.count == 1000)
    }
}
