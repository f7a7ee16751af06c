import FuzzDriver
import Foundation
import TextEmbedding

/// Any bytes, read as UTF-8 text (invalid sequences replaced as `String(decoding:)` does), through
/// the WordPiece tokenizer of the tiny BERT fixture: no trap, ids within the vocabulary, the
/// truncation respected.
let tokenizer: WordPieceTokenizer = {
    let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tests/TestSupport/Fixtures/tiny-bert-cls-1024/tokenizer.json")
    return try! WordPieceTokenizer(contentsOf: fixture)
}()

@_cdecl("FuzzTokenizer_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { data, size in fuzz(data!, size) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let encoding = tokenizer.encode(text, maxLength: 128)
    precondition(encoding.ids.count <= 128, "truncation not respected")
    precondition(encoding.ids.allSatisfy { $0 >= 0 && Int($0) <= tokenizer.maxTokenID }, "id outside the vocabulary")
    return 0
}
