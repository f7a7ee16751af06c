import EpisodicMemory
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport

@testable import EpisodicServer

/// A memory in a temporary directory: all-MiniLM-L6-v2 (fast) and the tiny 1024-dim BERT
/// fixture (quality), so that every route runs real models quickly.
struct ServerFixture {
    let directory: TemporaryDirectory
    let memory: EpisodicMemory
    let api: EpisodicAPI
    /// The SQLite file, or nil on PostgreSQL.
    var sqlitePath: String? = nil
    var schema: String? = nil

    static func make(
        api configure: (inout APIConfiguration) -> Void = { _ in }, maxTextBytes: Int = 1 << 20,
        fastModelDirectory: URL? = nil, backend: Backend = .sqlite,
        memory configureMemory: (inout EpisodicMemory.Configuration) -> Void = { _ in }
    ) async throws -> ServerFixture {
        let directory = try TemporaryDirectory("episodic-server")
        var configuration = EpisodicMemory.Configuration()
        configuration.qualityModel = "tiny-bert-cls-1024"
        configuration.qualityModelDirectory = Fixtures.tinyBert
        configuration.limits.maxTextBytes = maxTextBytes
        configureMemory(&configuration)
        var path = directory.path("m.sqlite")
        var schema: String?
        if backend == .postgres { (path, schema) = try PostgresTestDatabase.url() }
        if let fastModelDirectory {
            // Create the store (its columns need the real models), then reopen it with another
            // fast model directory.
            await (try await EpisodicMemory.open(path, configuration: configuration)).close()
            configuration.fastModelDirectory = fastModelDirectory
        }
        let memory = try await EpisodicMemory.open(path, configuration: configuration)
        var apiConfiguration = APIConfiguration()
        apiConfiguration.retrievalTimeBudgetMs = nil
        configure(&apiConfiguration)
        return ServerFixture(
            directory: directory, memory: memory, api: EpisodicAPI(memory: memory, configuration: apiConfiguration),
            sqlitePath: backend == .sqlite ? path : nil, schema: schema)
    }

    func cleanup() async {
        await memory.close()
        if let schema { await PostgresTestDatabase.drop(schema: schema) }
        directory.remove()
    }

    /// Runs `body` against the API served on 127.0.0.1 (a real socket and HTTP client).
    func live(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: api.router(), server: api.server, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
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
    var errorMessage: String { (json["error"] as? [String: Any])?["message"] as? String ?? "" }
}

func jsonBody(_ object: Any) -> ByteBuffer {
    ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object))
}

/// The headers of a JSON request.
let jsonHeaders: HTTPFields = [.contentType: "application/json"]

extension ServerFixture {
    /// Runs `body` with a fresh fixture, cleaned up afterwards even when `body` throws.
    static func with(
        api configure: (inout APIConfiguration) -> Void = { _ in }, maxTextBytes: Int = 1 << 20,
        fastModelDirectory: URL? = nil, backend: Backend = .sqlite,
        memory configureMemory: (inout EpisodicMemory.Configuration) -> Void = { _ in }, _ body: (ServerFixture) async throws -> Void
    ) async throws {
        let f = try await make(
            api: configure, maxTextBytes: maxTextBytes, fastModelDirectory: fastModelDirectory, backend: backend, memory: configureMemory)
        do {
            try await body(f)
        } catch {
            await f.cleanup()
            throw error
        }
        await f.cleanup()
    }
}
