/// The `main` of a harness built by SwiftPM. SwiftPM links an executable's `main` to a symbol
/// `<Target>_main` (with `--defsym`), so each harness defines that symbol with `@_cdecl` and calls
/// this, which hands the harness's `LLVMFuzzerTestOneInput` to libFuzzer's driver
/// (`LLVMFuzzerRunDriver`, in the runtime that `-sanitize=fuzzer` links).
public typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: FuzzCallback) -> Int32

/// Runs libFuzzer with the process's arguments and `callback` as the test of one input.
public func runFuzzer(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ callback: FuzzCallback) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, callback)
}
