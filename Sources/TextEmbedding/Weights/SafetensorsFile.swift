import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A `.safetensors` file, memory-mapped read-only, with its header validated up front: every
/// tensor's dtype is known, its shape times its element size equals its byte length, and its bytes
/// lie inside the file without overlapping another tensor. A truncated or damaged file is refused
/// with ``EmbeddingError/corruptWeights(file:reason:)`` before any tensor is read.
public final class SafetensorsFile: @unchecked Sendable {
    /// Element types of the safetensors format.
    public enum DType: String, Sendable {
        case f64 = "F64"
        case f32 = "F32"
        case f16 = "F16"
        case bf16 = "BF16"
        case i64 = "I64"
        case i32 = "I32"
        case i16 = "I16"
        case i8 = "I8"
        case u8 = "U8"
        case bool = "BOOL"
        case u16 = "U16"
        case u32 = "U32"
        case u64 = "U64"
        case f8e4m3 = "F8_E4M3"
        case f8e5m2 = "F8_E5M2"

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .f64, .i64, .u64: return 8
            case .f32, .i32, .u32: return 4
            case .f16, .bf16, .i16, .u16: return 2
            case .i8, .u8, .bool, .f8e4m3, .f8e5m2: return 1
            }
        }
    }

    /// Where one tensor lives in the file.
    public struct TensorInfo: Sendable, Equatable {
        public var dtype: DType
        public var shape: [Int]
        /// Byte range relative to the start of the data section.
        public var byteRange: Range<Int>
        public var elementCount: Int { shape.reduce(1, *) }
    }

    /// The file's path, for error messages.
    public let path: String
    /// All tensors by name.
    public let tensors: [String: TensorInfo]
    /// The free-form `__metadata__` block.
    public let metadata: [String: String]

    private let base: UnsafeMutableRawPointer
    private let mappedSize: Int
    private let dataOffset: Int

    /// Reads and validates the header of a safetensors file whose whole content is `file`: the tensors,
    /// the metadata, and the header's length. Nothing here can trap, whatever the bytes.
    @_spi(Fuzzing)
    public static func parseHeader(_ file: UnsafeRawBufferPointer, file name: String) throws
        -> (tensors: [String: TensorInfo], metadata: [String: String], headerLength: Int)
    {
        func corrupt(_ reason: String) -> EmbeddingError { .corruptWeights(file: name, reason: reason) }
        let size = file.count
        guard size >= 8 else { throw corrupt("the file has \(size) bytes, fewer than the 8-byte header length") }
        let rawLength = UInt64(littleEndian: file.loadUnaligned(as: UInt64.self))
        guard rawLength > 0, rawLength <= UInt64(Self.maxHeaderSize) else {
            throw corrupt("header length \(rawLength) is out of range")
        }
        let headerLength = Int(rawLength)
        guard headerLength <= size - 8 else {
            throw corrupt("header length \(headerLength) runs past the end of the \(size)-byte file (truncated?)")
        }
        let headerData = Data(bytes: file.baseAddress! + 8, count: headerLength)
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw corrupt("the header is not a JSON object")
        }
        let dataSize = size - 8 - headerLength
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (key, value) in header {
            if key == "__metadata__" {
                for (k, v) in value as? [String: Any] ?? [:] { metadata[k] = v as? String ?? "\(v)" }
                continue
            }
            guard let entry = value as? [String: Any] else { throw corrupt("entry \(key) is not an object") }
            guard let dtypeName = entry["dtype"] as? String else { throw corrupt("tensor \(key) has no dtype") }
            guard let dtype = DType(rawValue: dtypeName) else { throw corrupt("tensor \(key) has unknown dtype \(dtypeName)") }
            guard let shape = entry["shape"] as? [Int], shape.allSatisfy({ $0 >= 0 }) else {
                throw corrupt("tensor \(key) has no valid shape")
            }
            guard let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw corrupt("tensor \(key) has no valid data_offsets")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end else { throw corrupt("tensor \(key) has data_offsets [\(begin), \(end)]") }
            guard end <= dataSize else {
                throw corrupt("tensor \(key) ends at byte \(end) of a \(dataSize)-byte data section (truncated?)")
            }
            var bytes = dtype.size
            for d in shape {
                let (product, overflow) = bytes.multipliedReportingOverflow(by: d)
                guard !overflow else { throw corrupt("tensor \(key) has an overflowing shape \(shape)") }
                bytes = product
            }
            guard bytes == end - begin else {
                throw corrupt("tensor \(key): shape \(shape) × \(dtype.size) bytes ≠ \(end - begin) bytes stored")
            }
            tensors[key] = TensorInfo(dtype: dtype, shape: shape, byteRange: begin..<end)
        }
        let sorted = tensors.sorted { $0.value.byteRange.lowerBound < $1.value.byteRange.lowerBound }
        for (previous, next) in zip(sorted, sorted.dropFirst())
        where next.value.byteRange.lowerBound < previous.value.byteRange.upperBound {
            throw corrupt("tensors \(previous.key) and \(next.key) overlap")
        }
        return (tensors, metadata, headerLength)
    }

    /// Largest header accepted (the reference implementation's limit).
    static let maxHeaderSize = 100_000_000

    /// Maps the file at `url` and validates its header.
    public init(url: URL) throws {
        path = url.path
        let name = url.lastPathComponent
        func corrupt(_ reason: String) -> EmbeddingError { .corruptWeights(file: name, reason: reason) }

        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else {
            throw EmbeddingError.missingFile(name: name, directory: url.deletingLastPathComponent().path)
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw corrupt("cannot stat the file") }
        let size = Int(st.st_size)
        guard size >= 8 else { throw corrupt("the file has \(size) bytes, fewer than the 8-byte header length") }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw corrupt("mmap failed (errno \(errno))")
        }
        var ok = false
        defer { if !ok { munmap(mapped, size) } }

        let (tensors, metadata, headerLength) = try Self.parseHeader(UnsafeRawBufferPointer(start: mapped, count: size), file: name)
        self.tensors = tensors
        self.metadata = metadata
        self.base = mapped
        self.mappedSize = size
        self.dataOffset = 8 + headerLength
        ok = true
    }

    deinit { munmap(base, mappedSize) }

    /// The tensor `name` converted to float32, checked against `shape` when given.
    public func floats(_ name: String, shape expected: [Int]? = nil) throws -> [Float] {
        guard let info = tensors[name] else {
            throw EmbeddingError.missingTensor(name: name, file: URL(fileURLWithPath: path).lastPathComponent)
        }
        if let expected, expected != info.shape {
            throw EmbeddingError.shapeMismatch(tensor: name, expected: expected, actual: info.shape)
        }
        let count = info.elementCount
        let source = UnsafeRawPointer(base + dataOffset + info.byteRange.lowerBound)
        switch info.dtype {
        case .f32:
            // Tensor data is only 4-byte aligned at best (8 + header length): copy bytewise.
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                memcpy(buffer.baseAddress!, source, count * 4)
                initialized = count
            }
        case .f16:
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                for i in 0..<count {
                    let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    buffer[i] = Float(Float16(bitPattern: bits))
                }
                initialized = count
            }
        case .bf16:
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                for i in 0..<count {
                    let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    buffer[i] = Float(bitPattern: UInt32(bits) << 16)
                }
                initialized = count
            }
        default:
            throw EmbeddingError.unsupportedDType(tensor: name, dtype: info.dtype.rawValue)
        }
    }
}
