import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import TestSupport
import Testing

@testable import TextEmbedding

/// `ModelFetcher` against a local stand-in for the Hugging Face hub on 127.0.0.1, serving the
/// tiny BERT fixture with the hub's listing format and range requests.
@Suite struct ModelFetcherTests {
    /// What the fake hub saw and how it misbehaves.
    final class Hub: Sendable {
        let directory: URL
        let corruptChecksum: Bool
        let rangeRequests = Mutex<[String]>([])
        init(directory: URL, corruptChecksum: Bool = false) { self.directory = directory; self.corruptChecksum = corruptChecksum }

        func files() throws -> [String] {
            try FileManager.default.subpathsOfDirectory(atPath: directory.path).filter {
                var isDirectory: ObjCBool = false
                let exists = FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).path, isDirectory: &isDirectory)
                return exists && !isDirectory.boolValue && !$0.hasPrefix(".") && $0 != "reference.json"
            }.sorted()
        }

        func router() -> Router<BasicRequestContext> {
            let router = Router()
            router.get("/api/models/:org/:name/tree/:revision") { _, context -> Response in
                guard context.parameters.get("name") == "tiny-bert-cls-1024" else { return Response(status: .notFound) }
                var entries: [[String: Any]] = [["type": "directory", "path": "1_Pooling", "oid": "x", "size": 0]]
                for path in try self.files() {
                    let data = try Data(contentsOf: self.directory.appendingPathComponent(path))
                    if path == "model.safetensors" {
                        let sha = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
                        entries.append([
                            "type": "file", "path": path, "size": data.count, "oid": "ignored",
                            "lfs": ["oid": self.corruptChecksum ? String(repeating: "0", count: 64) : sha, "size": data.count],
                        ])
                    } else {
                        var hasher = Insecure.SHA1()
                        hasher.update(data: Data("blob \(data.count)\0".utf8))
                        hasher.update(data: data)
                        entries.append([
                            "type": "file", "path": path, "size": data.count,
                            "oid": hasher.finalize().map { String(format: "%02x", $0) }.joined(),
                        ])
                    }
                }
                // A duplicate the fetcher must skip.
                entries.append(["type": "file", "path": "onnx/model.onnx", "size": 3, "oid": "abc"])
                let body = try JSONSerialization.data(withJSONObject: entries)
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
            }
            router.get("/:org/:name/resolve/:revision/**") { request, context -> Response in
                let path = context.parameters.getCatchAll().joined(separator: "/")
                guard let data = FileManager.default.contents(atPath: self.directory.appendingPathComponent(path).path) else {
                    return Response(status: .notFound)
                }
                if let range = request.headers[.range], range.hasPrefix("bytes="), let start = Int(range.dropFirst(6).dropLast()) {
                    self.rangeRequests.withLock { $0.append("\(path) \(range)") }
                    return Response(
                        status: .partialContent,
                        headers: [.contentRange: "bytes \(start)-\(data.count - 1)/\(data.count)"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data[start...])))
                }
                return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: data)))
            }
            return router
        }
    }

    @Test func onlyOwnerSlashNameIDsAreAccepted() {
        for good in ["BAAI/bge-small-en-v1.5", "sentence-transformers/all-MiniLM-L6-v2", "a/b", "Org_1/model.v2"] {
            #expect((try? ModelFetcher.validate(repositoryID: good)) != nil, "\(good)")
        }
        for bad in [
            "", "a", "a/", "/a", "a/b/c", "BAAI/bge-small-en-v1.5/x/..", "a/..", "../x", "./x", "a/.b", "a/b.", "a/b--c",
            "a/b c", "a/é", "a\\b/c", String(repeating: "x", count: 97) + "/y",
        ] {
            #expect(throws: ModelFetchError.self, "\(bad.debugDescription)") { try ModelFetcher.validate(repositoryID: bad) }
        }
    }

    @Test func aNameThatWouldLeaveTheModelsFolderIsRefusedBeforeAnyDiskWork() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let models = tmp.url.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: tmp.url.appendingPathComponent("precious"))
        let fetcher = ModelFetcher(endpoint: URL(string: "http://127.0.0.1:9")!)
        await #expect(throws: ModelFetchError.self) { try await fetcher.fetch(repository: "x/..", into: models, force: true) }
        await #expect(throws: ModelFetchError.self) { try await fetcher.fetch(repository: "", into: models, force: true) }
        #expect(FileManager.default.fileExists(atPath: tmp.url.appendingPathComponent("precious").path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: models.path).isEmpty)
    }

    func withHub(_ hub: Hub, _ body: @escaping @Sendable (URL) async throws -> Void) async throws {
        let app = Application(router: hub.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            try await body(URL(string: "http://127.0.0.1:\(client.port!)")!)
        }
    }

    func temporaryRoot() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("episodic-fetch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func fetchesAVerifiedDirectoryThatLoadsAndEmbeds() async throws {
        let root = try temporaryRoot()
        defer { try? FileManager.default.removeItem(at: root) }
        let hub = Hub(directory: Fixtures.tinyBert)
        try await withHub(hub) { endpoint in
            let installed = try await ModelFetcher(endpoint: endpoint).fetch(repository: "test/tiny-bert-cls-1024", into: root)
            #expect(installed.standardizedFileURL.path == root.appendingPathComponent("tiny-bert-cls-1024").standardizedFileURL.path)
            for file in try hub.files() {
                #expect(
                    FileManager.default.contentsEqual(
                        atPath: installed.appendingPathComponent(file).path,
                        andPath: Fixtures.tinyBert.appendingPathComponent(file).path), "\(file)")
            }
            #expect(!FileManager.default.fileExists(atPath: installed.appendingPathComponent("onnx").path))
            #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent(".fetch-tiny-bert-cls-1024").path))
            let fetched = try SentenceEmbedder(directory: installed), original = try SentenceEmbedder(directory: Fixtures.tinyBert)
            #expect(try fetched.embed("hello world") == original.embed("hello world"))
            // Installed already: refused without --force.
            await #expect(throws: ModelFetchError.alreadyInstalled(path: installed.path)) {
                try await ModelFetcher(endpoint: endpoint).fetch(repository: "test/tiny-bert-cls-1024", into: root)
            }
        }
    }

    @Test func anInterruptedDownloadResumesWithARangeRequest() async throws {
        let root = try temporaryRoot()
        defer { try? FileManager.default.removeItem(at: root) }
        // What an interrupted run left: half of the weights in the staging folder.
        let staging = root.appendingPathComponent(".fetch-tiny-bert-cls-1024")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        let weights = try Data(contentsOf: Fixtures.tinyBert.appendingPathComponent("model.safetensors"))
        try weights.prefix(weights.count / 2).write(to: staging.appendingPathComponent("model.safetensors.part"))
        let hub = Hub(directory: Fixtures.tinyBert)
        try await withHub(hub) { endpoint in
            let installed = try await ModelFetcher(endpoint: endpoint).fetch(repository: "test/tiny-bert-cls-1024", into: root)
            #expect(try Data(contentsOf: installed.appendingPathComponent("model.safetensors")) == weights)
        }
        #expect(hub.rangeRequests.withLock { $0 } == ["model.safetensors bytes=\(weights.count / 2)-"])
    }

    @Test func aChecksumMismatchInstallsNothing() async throws {
        let root = try temporaryRoot()
        defer { try? FileManager.default.removeItem(at: root) }
        try await withHub(Hub(directory: Fixtures.tinyBert, corruptChecksum: true)) { endpoint in
            do {
                _ = try await ModelFetcher(endpoint: endpoint).fetch(repository: "test/tiny-bert-cls-1024", into: root)
                Issue.record("a download with the wrong checksum was installed")
            } catch let ModelFetchError.checksumMismatch(file, expected, _) {
                #expect(file == "model.safetensors" && expected == String(repeating: "0", count: 64))
            }
            #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("tiny-bert-cls-1024").path))
            // The bad file is gone, so a rerun downloads it again from scratch.
            #expect(
                !FileManager.default.fileExists(
                    atPath: root.appendingPathComponent(".fetch-tiny-bert-cls-1024/model.safetensors.part").path))
        }
    }

    @Test func unknownRepositoryAndUnreachableHub() async throws {
        let root = try temporaryRoot()
        defer { try? FileManager.default.removeItem(at: root) }
        try await withHub(Hub(directory: Fixtures.tinyBert)) { endpoint in
            await #expect(throws: ModelFetchError.repositoryNotFound("test/nope")) {
                try await ModelFetcher(endpoint: endpoint).fetch(repository: "test/nope", into: root)
            }
        }
        do {
            _ = try await ModelFetcher(endpoint: URL(string: "http://127.0.0.1:9")!).fetch(repository: "a/b", into: root)
            Issue.record("fetched from a closed port")
        } catch let error as ModelFetchError {
            if case .network = error {} else { Issue.record("unexpected \(error)") }
        }
    }
}
