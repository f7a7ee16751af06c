import FuzzDriver
@_spi(Fuzzing) import TextEmbedding

/// Any bytes as a whole safetensors file: the header parser refuses or accepts, never traps, and
/// what it accepts lies inside the file.
@_cdecl("FuzzSafetensors_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { data, size in fuzz(data!, size) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let file = UnsafeRawBufferPointer(start: data, count: size)
    guard let (tensors, _, headerLength) = try? SafetensorsFile.parseHeader(file, file: "fuzz.safetensors") else { return 0 }
    let dataSize = size - 8 - headerLength
    for tensor in tensors.values {
        precondition(tensor.byteRange.lowerBound >= 0 && tensor.byteRange.upperBound <= dataSize, "tensor outside the file")
    }
    return 0
}
