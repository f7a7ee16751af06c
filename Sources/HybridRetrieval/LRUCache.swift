import Synchronization

/// A thread-safe least-recently-used cache with hit, miss and eviction counters.
/// (swift-collections has no LRU: a dictionary of nodes in an intrusive doubly linked list.)
public final class LRUCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    /// Counters since the cache was created.
    public struct Statistics: Sendable, Equatable {
        public var hits = 0
        public var misses = 0
        public var evictions = 0
        public var count = 0
        public var capacity = 0
    }

    private struct Node {
        var key: Key
        var value: Value
        var previous: Int // slot index, -1 for none
        var next: Int
    }

    private struct State {
        var slots: [Node] = []
        var index: [Key: Int] = [:]
        var free: [Int] = []
        var head = -1 // most recently used
        var tail = -1 // least recently used
        var statistics = Statistics()
    }

    public let capacity: Int
    private let state: Mutex<State>

    public init(capacity: Int) {
        precondition(capacity > 0, "an LRU cache needs a positive capacity")
        self.capacity = capacity
        var initial = State()
        initial.statistics.capacity = capacity
        state = Mutex(initial)
    }

    /// The value for `key`, marking it most recently used; counts a hit or a miss.
    public func value(for key: Key) -> Value? {
        state.withLock { s in
            guard let slot = s.index[key] else { s.statistics.misses += 1; return nil }
            s.statistics.hits += 1
            Self.moveToFront(&s, slot)
            return s.slots[slot].value
        }
    }

    /// Whether `key` is cached, without touching recency or counters.
    public func contains(_ key: Key) -> Bool { state.withLock { $0.index[key] != nil } }

    /// Inserts or replaces `value`; evicts the least recently used entry when full.
    /// Returns the evicted key, if any.
    @discardableResult
    public func insert(_ value: Value, for key: Key) -> Key? {
        state.withLock { s in
            if let slot = s.index[key] {
                s.slots[slot].value = value
                Self.moveToFront(&s, slot)
                return nil
            }
            var evicted: Key?
            if s.index.count >= capacity {
                let victim = s.tail
                evicted = s.slots[victim].key
                Self.unlink(&s, victim)
                s.index[s.slots[victim].key] = nil
                s.free.append(victim)
                s.statistics.evictions += 1
            }
            let node = Node(key: key, value: value, previous: -1, next: s.head)
            let slot: Int
            if let reused = s.free.popLast() {
                s.slots[reused] = node; slot = reused
            } else {
                s.slots.append(node); slot = s.slots.count - 1
            }
            if s.head >= 0 { s.slots[s.head].previous = slot }
            s.head = slot
            if s.tail < 0 { s.tail = slot }
            s.index[key] = slot
            s.statistics.count = s.index.count
            return evicted
        }
    }

    /// Removes `key`; returns whether it was cached.
    @discardableResult
    public func remove(_ key: Key) -> Bool {
        state.withLock { s in
            guard let slot = s.index.removeValue(forKey: key) else { return false }
            Self.unlink(&s, slot)
            s.free.append(slot)
            s.statistics.count = s.index.count
            return true
        }
    }

    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// Keys from most to least recently used (for tests and diagnostics).
    public var keysByRecency: [Key] {
        state.withLock { s in
            var keys: [Key] = []
            var slot = s.head
            while slot >= 0 { keys.append(s.slots[slot].key); slot = s.slots[slot].next }
            return keys
        }
    }

    private static func unlink(_ s: inout State, _ slot: Int) {
        let node = s.slots[slot]
        if node.previous >= 0 { s.slots[node.previous].next = node.next } else { s.head = node.next }
        if node.next >= 0 { s.slots[node.next].previous = node.previous } else { s.tail = node.previous }
        s.slots[slot].previous = -1
        s.slots[slot].next = -1
    }

    private static func moveToFront(_ s: inout State, _ slot: Int) {
        guard s.head != slot else { return }
        unlink(&s, slot)
        s.slots[slot].next = s.head
        if s.head >= 0 { s.slots[s.head].previous = slot }
        s.head = slot
        if s.tail < 0 { s.tail = slot }
    }
}
