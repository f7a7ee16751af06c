/// An immutable, heap-allocated float buffer holding one weight tensor. Weights are written once at
/// load time and only read afterwards, which is what makes sharing them across tasks safe.
final class FloatTensor: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(_ values: [Float]) {
        count = values.count
        pointer = .allocate(capacity: max(count, 1))
        values.withUnsafeBufferPointer { pointer.initialize(from: $0.baseAddress!, count: count) }
    }

    /// Concatenates `parts` end to end (e.g. the query, key and value weights into one matrix).
    init(concatenating parts: [[Float]]) {
        count = parts.reduce(0) { $0 + $1.count }
        pointer = .allocate(capacity: max(count, 1))
        var offset = 0
        for part in parts {
            part.withUnsafeBufferPointer { (pointer + offset).initialize(from: $0.baseAddress!, count: part.count) }
            offset += part.count
        }
    }

    deinit { pointer.deallocate() }

    var readPointer: UnsafePointer<Float> { UnsafePointer(pointer) }
}

/// Hands scratch pointers to worker threads of one forward pass. Safe because the workers write
/// disjoint regions and the pass waits for all of them before reading.
struct SharedScratch: @unchecked Sendable {
    let qkv: UnsafePointer<Float>
    let context: UnsafeMutablePointer<Float>
}
