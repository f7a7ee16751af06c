/// Scratch memory for one forward pass, sized for its packed batch; one per call, so concurrent
/// calls never share buffers.
final class Workspace {
    let hidden: UnsafeMutablePointer<Float> // T × H: the running hidden state
    let qkv: UnsafeMutablePointer<Float> // T × 3H
    let context: UnsafeMutablePointer<Float> // T × H: attention output before projection
    let projected: UnsafeMutablePointer<Float> // T × H: a sublayer's output before add & norm
    let intermediate: UnsafeMutablePointer<Float> // T × I
    private let storage: UnsafeMutablePointer<Float>

    init(tokens: Int, hiddenSize: Int, intermediateSize: Int) {
        let t = max(tokens, 1)
        let sizes = [t * hiddenSize, t * 3 * hiddenSize, t * hiddenSize, t * hiddenSize, t * intermediateSize]
        storage = .allocate(capacity: sizes.reduce(0, +))
        var offset = 0
        var pointers: [UnsafeMutablePointer<Float>] = []
        for size in sizes { pointers.append(storage + offset); offset += size }
        hidden = pointers[0]; qkv = pointers[1]; context = pointers[2]; projected = pointers[3]; intermediate = pointers[4]
    }

    deinit { storage.deallocate() }
}
