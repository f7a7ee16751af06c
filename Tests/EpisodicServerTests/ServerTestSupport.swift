import EpisodeStore
@testable import EpisodicServer
import Foundation
import Hummingbird
import HummingbirdTesting
import HybridRetrieval
import NIOCore

/// A memory in a temporary directory: all-MiniLM-L6-v2 (fast) and the tiny 1024-dim BERT
/// fixture (quality), so that every route runs real models quickly.
struct ServerFixture {
    let directory: URL
    let memory: EpisodicMemory
    let api: EpisodicAPI

    static var models: URL {
        ProcessInfo.processInfo.environment["EPISODIC_MODELS"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/episodic/models")
    }
    static var tinyBert: URL {
        (ProcessInfo.processInfo.environment["EPISODIC_SHARED"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared"))
            .appendingPathComponent("fixtures/tiny-bert-cls-1024")
    }

    init(api configure: (inout APIConfiguration) -> Void = { _ in }, maxTextBytes: Int = 1 << 20,
         fastModelDirectory: URL? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("episodic-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var configuration = EpisodicMemory.Configuration(modelsRoot: Self.models)
        configuration.qualityModel = "tiny-bert-cls-1024"
        configuration.qualityModelDirectory = Self.tinyBert
        configuration.maxTextBytes = maxTextBytes
        let path = directory.appendingPathComponent("m.sqlite").path
        if let fastModelDirectory {
            // Create the store (its columns need the real models), then reopen it with another
            // fast model directory.
            _ = try EpisodicMemory.open(path: path, configuration: configuration)
            configuration.fastModelDirectory = fastModelDirectory
        }
        memory = try EpisodicMemory.open(path: path, configuration: configuration)
        var apiConfiguration = APIConfiguration()
        apiConfiguration.retrievalTimeBudgetMs = nil
        configure(&apiConfiguration)
        api = EpisodicAPI(memory: memory, configuration: apiConfiguration)
    }

    func cleanup() { try? FileManager.default.removeItem(at: directory) }

    /// Runs `body` against the API served on 127.0.0.1 (a real socket and HTTP client).
    func live(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: api.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live, body)
    }
}

extension TestResponse {
    /// The body parsed as a JSON object.
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
    }
    var text: String { String(buffer: body) }
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
}

func jsonBody(_ object: Any) -> ByteBuffer {
    ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object))
}
