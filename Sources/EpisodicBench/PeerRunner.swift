import Foundation

/// Runs the peer benchmark scripts of `../shared/peers` (ONNX Runtime, FAISS, …) in the same
/// invocation as our own benchmark, so that the printed ratios compare runs on the same machine
/// under the same load.
struct PeerRunner {
    /// The peers folder: `--peers`, else `$EPISODIC_PEERS`, else `../shared/peers`.
    let directory: URL
    /// The peers' Python: `$EPISODIC_PEERS_VENV/bin/python`, default `~/.cache/episodic-peers/venv`.
    let python: URL

    init(peersOption: String?) {
        let env = ProcessInfo.processInfo.environment
        let folder = peersOption ?? env["EPISODIC_PEERS"] ?? "../shared/peers"
        directory = URL(fileURLWithPath: folder)
        let venv =
            env["EPISODIC_PEERS_VENV"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/episodic-peers/venv")
        python = venv.appendingPathComponent("bin/python")
    }

    /// Why the peers cannot run, or nil when they can.
    func unavailableReason(script: String) -> String? {
        if !FileManager.default.isExecutableFile(atPath: python.path) {
            return "no peer venv at \(python.deletingLastPathComponent().deletingLastPathComponent().path) (run \(directory.path)/setup.sh)"
        }
        if !FileManager.default.fileExists(atPath: directory.appendingPathComponent(script).path) {
            return "no \(script) in \(directory.path) (pass --peers DIR or set EPISODIC_PEERS)"
        }
        return nil
    }

    /// Runs `script` with `arguments` and returns the JSON objects it prints, one per line.
    func run(script: String, arguments: [String]) throws -> [[String: Any]] {
        let process = Process()
        process.executableURL = python
        process.arguments = [directory.appendingPathComponent(script).path] + arguments
        var environment = ProcessInfo.processInfo.environment
        // One thread for the peer's numeric libraries unless the script sets its own.
        environment["OMP_NUM_THREADS"] = environment["OMP_NUM_THREADS"] ?? "1"
        environment["OPENBLAS_NUM_THREADS"] = environment["OPENBLAS_NUM_THREADS"] ?? "1"
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PeerError(message: "\(script) exited with status \(process.terminationStatus): \(errorText.suffix(500))")
        }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    struct PeerError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
