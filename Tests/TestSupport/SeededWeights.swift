import Foundation

/// Writes the weights of a seeded fixture model — the same values, bit for bit, as
/// `scripts/fixtures/seeded_weights.py` — so that the repository ships a small manifest instead of
/// megabytes of random weights.
///
/// Tensor values: splitmix64 from the tensor's seed; the i-th output's top 24 bits, minus 2²³,
/// times 2^(scale_log2 − 23) — exact in float32 — rounded to float16 (to nearest even).
public enum SeededWeights {
    struct Manifest: Decodable {
        var dtype: String
        var tensors: [Tensor]
    }

    struct Tensor: Decodable {
        var name: String
        var shape: [Int]
        var kind: String
        var seed: UInt64
        var scale_log2: Int
    }

    /// Writes `model.safetensors` for the manifest `weights.json` into `directory`.
    public static func writeSafetensors(manifest url: URL, into directory: URL) throws {
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: url))
        precondition(manifest.dtype == "F16", "only F16 manifests are supported")
        var header: [String: Any] = ["__metadata__": ["format": "pt"]]
        var offset = 0
        var payload = Data()
        for tensor in manifest.tensors {
            let values = self.values(tensor)
            let bytes = values.count * 2
            header[tensor.name] = ["dtype": "F16", "shape": tensor.shape, "data_offsets": [offset, offset + bytes]]
            values.withUnsafeBufferPointer {
                payload.append(
                    UnsafeBufferPointer(
                        start: UnsafeRawPointer($0.baseAddress!)
                            .assumingMemoryBound(to: UInt8.self), count: bytes))
            }
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var file = Data()
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { file.append(contentsOf: $0) }
        file.append(json)
        file.append(payload)
        try file.write(to: directory.appendingPathComponent("model.safetensors"))
    }

    /// The float16 bit patterns of one tensor.
    static func values(_ tensor: Tensor) -> [UInt16] {
        let count = tensor.shape.reduce(1, *)
        switch tensor.kind {
        case "ones": return [UInt16](repeating: Float16(1).bitPattern, count: count)
        case "zeros": return [UInt16](repeating: 0, count: count)
        default:
            let scale = Float(sign: .plus, exponent: tensor.scale_log2 - 23, significand: 1)
            var state = tensor.seed
            return [UInt16](unsafeUninitializedCapacity: count) { buffer, initialized in
                for i in 0..<count {
                    state = state &+ 0x9E37_79B9_7F4A_7C15
                    var z = state
                    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                    z = z ^ (z >> 31)
                    let top = Int32(truncatingIfNeeded: z >> 40) - (1 << 23)
                    buffer[i] = Float16(Float(top) * scale).bitPattern
                }
                initialized = count
            }
        }
    }
}
