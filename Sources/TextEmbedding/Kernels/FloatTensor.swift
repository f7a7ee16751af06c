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

    deinit { pointer.deallocate() }

    var readPointer: UnsafePointer<Float> { UnsafePointer(pointer) }
}
