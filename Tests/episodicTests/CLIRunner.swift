import Foundation

/// Runs the built `episodic` binary as a child process, as a user would.
struct CLIRunner {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// `episodic` next to the test runner in the build directory (the test target depends on it).
    static var binary: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("episodic")
    }

    /// Runs the tool as the unprivileged user `nobody` when this process is root (as in CI), so
    /// that file permissions apply; as itself otherwise.
    static func runUnprivileged(_ arguments: [String], stdin: String? = nil) async throws -> Result {
        guard getuid() == 0 else { return try await run(arguments, stdin: stdin) }
        return try await run(
            ["--reuid=65534", "--regid=65534", "--clear-groups", binary.path] + arguments, stdin: stdin,
            executable: URL(fileURLWithPath: "/usr/bin/setpriv"))
    }

    /// Runs the child and waits for it on a thread of its own: a test waiting for a child must not
    /// hold a thread of the cooperative pool, where the in-process servers of other tests run (on
    /// 2 cores the pool has 2 threads; two such waits would leave them none).
    static func run(
        _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:],
        executable: URL = binary
    ) async throws -> Result {
        try await run(arguments, input: stdin.map { Data($0.utf8) }, environment: environment, executable: executable)
    }

    /// ``run(_:stdin:environment:executable:)`` with standard input as bytes (which need not be
    /// UTF-8).
    static func run(
        _ arguments: [String], input stdin: Data?, environment: [String: String] = [:], executable: URL = binary
    ) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Swift.Result { try runBlocking(arguments, stdin: stdin, environment: environment, executable: executable) })
            }
        }
    }

    /// How long a child may run before it is killed: ten times the slowest command of the suite
    /// (a reembed of 300 episodes with all-mpnet-base-v2 in a debug build, ~30 s).
    static let childTimeLimitSeconds = 600.0

    private static func runBlocking(
        _ arguments: [String], stdin: Data?, environment: [String: String], executable: URL
    ) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        // A child that hangs is killed, so that the test fails (on its status) instead of waiting
        // for CI's time limit.
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + childTimeLimitSeconds) {
            if process.isRunning && process.processIdentifier == pid { kill(pid, SIGKILL) }
        }
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        // Read both pipes concurrently so that neither fills up and blocks the child.
        let errors = Captured()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { errors.data = err.fileHandleForReading.readDataToEndOfFile() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitForExit()
        group.wait()
        var stderr = String(decoding: errors.data, as: UTF8.self)
        if process.terminationReason == .uncaughtSignal {
            let hint = process.terminationStatus == SIGKILL ? " (a hang? children are killed after \(Int(childTimeLimitSeconds)) s)" : ""
            stderr += "\n[CLIRunner] the child was killed by signal \(process.terminationStatus)\(hint)"
        }
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: stderr)
    }
}

/// Bytes read on another thread; `group.wait()` orders the write before the read.
private final class Captured: @unchecked Sendable {
    var data = Data()
}

extension Process {
    /// Blocks until the child has exited, sleeping between checks: Foundation's `waitUntilExit()`
    /// spins its run loop at full speed on Linux (a core per waiting test, which a loaded CI
    /// machine does not have to spare).
    func waitForExit() {
        while isRunning { usleep(5_000) }
    }

    /// Waits for the child to exit, polling: `waitUntilExit()` spins the calling thread, and in an
    /// async test that thread belongs to the cooperative pool the in-process servers of other
    /// tests run on (one such wait on a stuck child starved them until their requests timed out).
    /// False, with the child killed, if it is still running after `seconds`.
    func exit(within seconds: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while isRunning && Date() < deadline { try? await Task.sleep(nanoseconds: 20_000_000) }
        guard isRunning else { return true }
        kill(processIdentifier, SIGKILL)
        while isRunning { try? await Task.sleep(nanoseconds: 20_000_000) }
        return false
    }
}

extension FileHandle {
    /// What a child writes to this pipe, chunk by chunk until it closes, read on a thread of its
    /// own: a blocking read must not hold a thread of the cooperative pool for the child's run.
    /// The thread reads to the end even after the consumer stops, so a full pipe never blocks
    /// the child.
    func chunks() -> AsyncStream<Data> {
        AsyncStream { continuation in
            Thread.detachNewThread {
                while true {
                    let chunk = self.availableData
                    if chunk.isEmpty { break }
                    continuation.yield(chunk)
                }
                continuation.finish()
            }
        }
    }
}

extension Process {
    /// Reads `pipe` on a thread of its own and, as soon as what has arrived satisfies `ready`,
    /// sends `signal` to the child from that thread: the moment matters (a SIGKILL in the middle
    /// of an import), and a test task resumed on a busy cooperative pool could act seconds late —
    /// after the child finished. Returns the text read by then (everything, if the pipe closed
    /// first); the thread drains the rest, so a full pipe never blocks the child.
    func send(_ signal: Int32, once pipe: FileHandle, shows ready: @escaping @Sendable (String) -> Bool) async -> String {
        let pid = processIdentifier
        return await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var text = ""
                var answered = false
                while true {
                    let chunk = pipe.availableData
                    if chunk.isEmpty { break }
                    if answered { continue }
                    text += String(decoding: chunk, as: UTF8.self)
                    if ready(text) {
                        kill(pid, signal)
                        continuation.resume(returning: text)
                        answered = true
                    }
                }
                if !answered { continuation.resume(returning: text) }
            }
        }
    }
}

extension CLIRunner {
    /// The largest N of the `imported N/M, …` progress lines in an import's log.
    static func importedCount(in log: String) -> Int {
        log.split(separator: "\n").filter { $0.hasPrefix("imported ") }
            .compactMap { Int($0.dropFirst("imported ".count).prefix { $0.isNumber }) }.max() ?? 0
    }
}
