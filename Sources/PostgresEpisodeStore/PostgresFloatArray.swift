import NIOCore

/// Reads a `real[]` value in PostgreSQL's binary array format straight into `[Float]`.
/// PostgresNIO's generic array decoding instantiates generic metadata per element: for the 116
/// vectors of 384 floats a search returns that took most of its client-side time.
enum PostgresFloatArray {
    /// `ndim`, `has_null`, element type, then per dimension its length and lower bound, then per
    /// element its byte length (4, or −1 for NULL) and big-endian float4 bits. Nil for anything
    /// else (NULLs, several dimensions, another element type).
    static func decode(_ buffer: ByteBuffer) -> [Float]? {
        var b = buffer
        guard let dimensions = b.readInteger(as: Int32.self), b.readInteger(as: Int32.self) != nil,
            let elementType = b.readInteger(as: UInt32.self)
        else { return nil }
        if dimensions == 0 { return [] }
        guard dimensions == 1, elementType == 700, let count = b.readInteger(as: Int32.self), count >= 0,
            b.readInteger(as: Int32.self) != nil, b.readableBytes == Int(count) * 8
        else { return nil }
        return b.withUnsafeReadableBytes { raw -> [Float]? in
            var out = [Float](repeating: 0, count: Int(count))
            for i in 0..<Int(count) {
                let length = Int32(bigEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: Int32.self))
                guard length == 4 else { return nil }
                out[i] = Float(bitPattern: UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: i * 8 + 4, as: UInt32.self)))
            }
            return out
        }
    }
}
