import Crypto
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What can go wrong fetching a model from the Hugging Face hub.
public enum ModelFetchError: Error, Equatable, Sendable, CustomStringConvertible {
    case repositoryNotFound(String)
    case httpStatus(url: String, status: Int)
    case network(url: String, reason: String)
    case invalidListing(String)
    case noSafetensors(repository: String)
    case checksumMismatch(file: String, expected: String, actual: String)
    case alreadyInstalled(path: String)
    /// Not a Hugging Face repository id (`owner/name`), refused before any network or disk work.
    case invalidRepositoryID(String, reason: String)
    /// A path the download would write or delete lies outside the models folder.
    case pathOutsideModelsFolder(String)

    public var description: String {
        switch self {
        case .repositoryNotFound(let repo): return "no model repository \(repo) on the hub (check the id, e.g. BAAI/bge-small-en-v1.5)"
        case .httpStatus(let url, let status): return "\(url) answered HTTP \(status)"
        case .network(let url, let reason): return "cannot reach \(url): \(reason) (offline? use scripts/setup.sh for the bundled models)"
        case .invalidListing(let reason): return "the hub's file listing is not usable: \(reason)"
        case .noSafetensors(let repo): return "\(repo) has no model.safetensors (only safetensors weights are supported)"
        case .checksumMismatch(let file, let expected, let actual):
            return "\(file): checksum \(actual) does not match the hub's \(expected); the download was discarded — rerun to fetch it again"
        case .alreadyInstalled(let path): return "\(path) already exists (use --force to replace it)"
        case .invalidRepositoryID(let id, let reason):
            return "\(id.debugDescription) is not a Hugging Face repository id (\(reason)); give owner/name, e.g. BAAI/bge-small-en-v1.5"
        case .pathOutsideModelsFolder(let path): return "refusing to write or delete \(path): it is outside the models folder"
        }
    }
}

/// Downloads a sentence-transformers model directory from the Hugging Face hub (or a mirror):
/// the files a directory needs (no ONNX/TF/PyTorch duplicates), each checked against the hub's
/// metadata (sha256 for LFS files, the git blob sha1 otherwise). Interrupted downloads resume
/// from a staging folder with HTTP range requests; the finished directory is moved into place
/// in one rename, so a model directory is either complete or absent.
public struct ModelFetcher: Sendable {
    public var endpoint: URL
    public var revision: String
    /// Sent as a bearer token when set (gated models).
    public var token: String?

    public init(
        endpoint: URL = URL(string: "https://huggingface.co")!, revision: String = "main",
        token: String? = ProcessInfo.processInfo.environment["HF_TOKEN"]
    ) {
        self.endpoint = endpoint
        self.revision = revision
        self.token = token
    }

    /// One file of the repository listing.
    public struct RemoteFile: Sendable, Equatable {
        public var path: String
        public var size: Int64
        /// sha256 (LFS files) or git blob sha1 (others), lowercase hex.
        public var checksum: String
        public var isLFS: Bool
    }

    /// Progress: file path, bytes of that file done, its size.
    public typealias Progress = @Sendable (String, Int64, Int64) -> Void

    /// Fetches `repository` into `modelsRoot/<last component of the id>` and returns that URL.
    public func fetch(
        repository: String, into modelsRoot: URL, force: Bool = false,
        progress: @escaping Progress = { _, _, _ in }
    ) async throws -> URL {
        try Self.validate(repositoryID: repository)
        let name = String(repository.split(separator: "/").last!)
        let destination = try Self.inside(modelsRoot, modelsRoot.appendingPathComponent(name))
        if FileManager.default.fileExists(atPath: destination.path) && !force {
            throw ModelFetchError.alreadyInstalled(path: destination.path)
        }
        let files = try await listing(repository: repository).filter { Self.isNeeded($0.path) }
        guard files.contains(where: { $0.path == "model.safetensors" }) else { throw ModelFetchError.noSafetensors(repository: repository) }
        // Kept between runs: a rerun resumes the files already (partly) here.
        let staging = try Self.inside(modelsRoot, modelsRoot.appendingPathComponent(".fetch-\(name)"))
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        for file in files {
            _ = try Self.inside(staging, staging.appendingPathComponent(file.path))
            try await download(file, repository: repository, into: staging, progress: progress)
        }
        if FileManager.default.fileExists(atPath: destination.path) { try FileManager.default.removeItem(at: destination) }
        try FileManager.default.moveItem(at: staging, to: destination)
        return destination
    }

    /// Throws ``ModelFetchError/invalidRepositoryID(_:reason:)`` unless `id` is `owner/name`, each
    /// part 1–96 of `A–Z a–z 0–9 - _ .`, neither starting nor ending with `.` or `-`, without `..`
    /// or `--` (the hub's own rules), so that the name can never address another folder.
    public static func validate(repositoryID id: String) throws(ModelFetchError) {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw .invalidRepositoryID(id, reason: "it must be exactly owner/name") }
        for part in parts {
            guard !part.isEmpty, part.count <= 96 else { throw .invalidRepositoryID(id, reason: "each part has 1 to 96 characters") }
            guard part.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
                throw .invalidRepositoryID(id, reason: "only letters, digits, '-', '_' and '.' are allowed")
            }
            guard !part.contains(".."), !part.contains("--"), let first = part.first, let last = part.last,
                !".-".contains(first), !".-".contains(last)
            else {
                throw .invalidRepositoryID(id, reason: "a part may not start or end with '.' or '-', nor hold '..' or '--'")
            }
        }
    }

    /// `path`, resolved (symbolic links and `..` included), when it lies inside `folder`.
    static func inside(_ folder: URL, _ path: URL) throws -> URL {
        let base = folder.standardizedFileURL.resolvingSymlinksInPath().path
        let resolved = path.standardizedFileURL.resolvingSymlinksInPath()
        guard resolved.path.hasPrefix(base + "/"), resolved.path != base else {
            throw ModelFetchError.pathOutsideModelsFolder(resolved.path)
        }
        return resolved
    }

    /// The repository's files at `revision`.
    public func listing(repository: String) async throws -> [RemoteFile] {
        let url = endpoint.appendingPathComponent("api/models/\(repository)/tree/\(revision)")
        var components = URLComponents(url: url, resolvingAgainstBaseURL: false)!
        components.queryItems = [URLQueryItem(name: "recursive", value: "true")]
        let (data, status) = try await get(components.url!)
        if status == 404 || status == 401 { throw ModelFetchError.repositoryNotFound(repository) }
        guard status == 200 else { throw ModelFetchError.httpStatus(url: url.absoluteString, status: status) }
        guard let entries = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] else {
            throw ModelFetchError.invalidListing("not a JSON array")
        }
        return try entries.compactMap { entry in
            guard entry["type"] as? String == "file" else { return nil }
            guard let path = entry["path"] as? String, !path.isEmpty, !path.hasPrefix("/"), !path.contains("..") else {
                throw ModelFetchError.invalidListing("an entry without a safe path")
            }
            let size = (entry["size"] as? NSNumber)?.int64Value ?? -1
            if let lfs = entry["lfs"] as? [String: Any], let oid = lfs["oid"] as? String {
                return RemoteFile(
                    path: path, size: (lfs["size"] as? NSNumber)?.int64Value ?? size,
                    checksum: oid.replacingOccurrences(of: "sha256:", with: "").lowercased(), isLFS: true)
            }
            guard let oid = entry["oid"] as? String else { throw ModelFetchError.invalidListing("\(path) has no oid") }
            return RemoteFile(path: path, size: size, checksum: oid.lowercased(), isLFS: false)
        }
    }

    /// The files a sentence-transformers directory needs (not ONNX/OpenVINO exports or
    /// PyTorch/TF/Flax duplicates of the safetensors weights).
    static func isNeeded(_ path: String) -> Bool {
        let skippedFolders = ["onnx/", "openvino/", "coreml/", "tflite/"]
        let skippedSuffixes = [".bin", ".h5", ".msgpack", ".ot", ".onnx", ".pt", ".pth", ".ckpt", ".gguf"]
        if skippedFolders.contains(where: { path.hasPrefix($0) }) { return false }
        if skippedSuffixes.contains(where: { path.hasSuffix($0) }) { return false }
        return true
    }

    private func download(_ file: RemoteFile, repository: String, into staging: URL, progress: @escaping Progress) async throws {
        let target = staging.appendingPathComponent(file.path)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        if FileManager.default.fileExists(atPath: target.path), try Self.checksum(of: target, lfs: file.isLFS) == file.checksum {
            progress(file.path, file.size, file.size)
            return
        }
        let partial = target.appendingPathExtension("part")
        if !FileManager.default.fileExists(atPath: partial.path) { _ = FileManager.default.createFile(atPath: partial.path, contents: nil) }
        var offset = ((try? FileManager.default.attributesOfItem(atPath: partial.path))?[.size] as? NSNumber)?.int64Value ?? 0
        if file.size >= 0 && offset > file.size { try Data().write(to: partial); offset = 0 }
        let url = endpoint.appendingPathComponent("\(repository)/resolve/\(revision)/\(file.path)")
        if offset < file.size || file.size < 0 {
            let status = try await StreamingDownload(token: token).run(url: url, appendingTo: partial, from: offset) { done in
                progress(file.path, done, file.size)
            }
            guard status == 200 || status == 206 else { throw ModelFetchError.httpStatus(url: url.absoluteString, status: status) }
        }
        let actual = try Self.checksum(of: partial, lfs: file.isLFS)
        guard actual == file.checksum else {
            try? FileManager.default.removeItem(at: partial)
            throw ModelFetchError.checksumMismatch(file: file.path, expected: file.checksum, actual: actual)
        }
        if FileManager.default.fileExists(atPath: target.path) { try FileManager.default.removeItem(at: target) }
        try FileManager.default.moveItem(at: partial, to: target)
    }

    /// sha256 (LFS) or git blob sha1 ("blob <size>\0" + content) of a file, lowercase hex.
    static func checksum(of url: URL, lfs: Bool) throws -> String {
        if lfs { return try ModelFingerprint.sha256(ofFile: url) }
        let data = try Data(contentsOf: url)
        var hasher = Insecure.SHA1()
        hasher.update(data: Data("blob \(data.count)\0".utf8))
        hasher.update(data: data)
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    private func get(_ url: URL) async throws -> (Data, Int) {
        var request = URLRequest(url: url)
        request.timeoutInterval = 60
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            return (data, (response as? HTTPURLResponse)?.statusCode ?? 0)
        } catch {
            throw ModelFetchError.network(url: url.absoluteString, reason: error.localizedDescription)
        }
    }
}

/// One download streamed into a file as it arrives, starting at a byte offset (HTTP range).
final class StreamingDownload: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let token: String?
    private var handle: FileHandle?
    private var written: Int64 = 0
    private var status = 0
    private var onProgress: (Int64) -> Void = { _ in }
    private var continuation: CheckedContinuation<Int, Error>?
    private var startOffset: Int64 = 0
    private var file: URL?

    init(token: String?) { self.token = token }

    /// Downloads `url` from byte `offset` and appends to `file` (a server that ignores the range
    /// and answers 200 restarts the file). Returns the HTTP status.
    func run(url: URL, appendingTo file: URL, from offset: Int64, progress: @escaping (Int64) -> Void) async throws -> Int {
        var request = URLRequest(url: url)
        request.timeoutInterval = 120
        if offset > 0 { request.setValue("bytes=\(offset)-", forHTTPHeaderField: "Range") }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        self.file = file
        startOffset = offset
        onProgress = progress
        let session = URLSession(configuration: .ephemeral, delegate: self, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        return try await withCheckedThrowingContinuation { continuation in
            self.continuation = continuation
            session.dataTask(with: request).resume()
        }
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard let file, status == 200 || status == 206, let handle = try? FileHandle(forWritingTo: file) else {
            completionHandler(status == 200 || status == 206 ? .cancel : .allow)
            return
        }
        if status == 200 { try? handle.truncate(atOffset: 0); written = 0 } else { _ = try? handle.seekToEnd(); written = startOffset }
        self.handle = handle
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        handle?.write(data)
        written += Int64(data.count)
        onProgress(written)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        try? handle?.close()
        handle = nil
        if let error, status == 0 || status == 200 || status == 206 {
            // A dropped connection keeps what arrived: the next run resumes from there.
            continuation?.resume(
                throwing: ModelFetchError.network(
                    url: task.originalRequest?.url?.absoluteString ?? "?",
                    reason: error.localizedDescription))
        } else {
            continuation?.resume(returning: status)
        }
        continuation = nil
    }
}
