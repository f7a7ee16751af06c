import FuzzDriver
import EpisodeStore
import Foundation

/// Any bytes as an RFC 3339 date and as a stored date text: refused, or accepted within the
/// range, and then written out and read back to the same millisecond.
@_cdecl("FuzzDates_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { data, size in fuzz(data!, size) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let date = try? EpisodeTime.parse(rfc3339: text) {
        precondition(EpisodeTime.isInRange(date), "accepted a date outside the range")
        let written = EpisodeTime.rfc3339(date)
        precondition((try? EpisodeTime.parse(rfc3339: written)) == EpisodeTime.truncated(date), "RFC 3339 round trip")
        precondition(EpisodeTime.date(storedText: EpisodeTime.storedText(date)) == EpisodeTime.truncated(date), "stored round trip")
    }
    _ = EpisodeTime.date(storedText: text)
    if let seconds = Double(text) { _ = EpisodeTime.date(unixSeconds: seconds) }
    return 0
}
