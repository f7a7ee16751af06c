import Foundation
import TestSupport

@testable import TextEmbedding

/// The models loaded once per test process: loading the weights dominates a parity test otherwise.
enum TestModels {
    static let miniLM: Result<SentenceEmbedder, Error> = Result { try SentenceEmbedder(directory: Fixtures.miniLM) }
    static let mpnet: Result<SentenceEmbedder, Error> = Result { try SentenceEmbedder(directory: Fixtures.mpnet) }
}
