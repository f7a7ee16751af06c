import ArgumentParser
import CommandSupport
import EpisodicMemory
import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `episodic-bench serve`: a load run against a real server process on loopback.
struct BenchServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Load-test the HTTP API: concurrent clients, a mix of writes and hybrid retrievals.",
        discussion: """
            Seeds a temporary store with the sample memory, starts `episodic serve` as a child \
            process on 127.0.0.1, runs the clients for --duration seconds (each request a write with \
            probability --write-ratio, else a hybrid retrieval), then stops the server with SIGTERM. \
            Prints throughput, p50/p99 latency and errors, and checks that the episode count equals \
            the seeded episodes plus the acknowledged writes.

            Example:
              swift run -c release episodic-bench serve --clients 16 --duration 60 --write-ratio 0.2
            """)

    @Option(help: "Concurrent clients.")
    var clients = 16

    @Option(help: "Seconds of load.")
    var duration = 60.0

    @Option(help: "Fraction of requests that add an episode.")
    var writeRatio = 0.2

    @Option(help: "Threads per model in the server.")
    var threads = 2

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() async throws {
        try await reportingFailures {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("episodic-load-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let db = directory.appendingPathComponent("load.sqlite").path

            // Seed with synthetic episodes of five agents (through the library, before the server starts).
            var configuration = EpisodicMemory.Configuration()
            configuration.threads = threads
            let seedMemory = try await EpisodicMemory.open(db, configuration: configuration)
            let agents = ["assistant", "devops", "support", "travel", "research"]
            let seedTexts = SyntheticEpisodes.episodes(300, seed: 29)
            let samples = seedTexts.enumerated().map { Episode(agentID: agents[$0.offset % agents.count], content: $0.element) }
            for start in stride(from: 0, to: samples.count, by: 64) {
                try await seedMemory.add(Array(samples[start..<min(samples.count, start + 64)]))
            }
            let seeded = try await seedMemory.stats().episodes
            await seedMemory.close()

            let server = Process()
            // The product's own binary, built next to this one.
            server.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
                .deletingLastPathComponent().appendingPathComponent("episodic")
            server.arguments = ["--db", db, "serve", "--port", "0", "--threads", "\(threads)", "--preload", "--time-budget-ms", "0"]
            let output = Pipe()
            server.standardOutput = output
            server.standardError = FileHandle.nullDevice
            try server.run()
            defer { if server.isRunning { server.terminate() } }
            guard let base = try Self.waitForAddress(output) else {
                throw Failure(message: "the server did not start", status: ExitStatus.unavailable)
            }

            let queries = SyntheticEpisodes.queries(200, seed: 3)
            let texts = SyntheticEpisodes.episodes(5000, seed: 17)
            let stats = LoadRecorder()
            let deadline = Date().addingTimeInterval(duration)
            // One connection per client: URLSession's default of 6 per host queued the other clients
            // on the client side, unfairly, which showed up as multi-second tails.
            let sessionConfiguration = URLSessionConfiguration.ephemeral
            sessionConfiguration.httpMaximumConnectionsPerHost = clients
            sessionConfiguration.timeoutIntervalForRequest = 120
            let session = URLSession(configuration: sessionConfiguration)
            let writeRatio = self.writeRatio
            await withTaskGroup(of: Void.self) { group in
                for client in 0..<clients {
                    group.addTask {
                        var state = UInt64(client + 1) &* 0x9E37_79B9_7F4A_7C15
                        func next() -> Double {
                            state = state &* 6364136223846793005 &+ 1442695040888963407
                            return Double(state >> 11) / Double(1 << 53)
                        }
                        var n = 0
                        while Date() < deadline {
                            let agent = agents[Int(next() * Double(agents.count))]
                            let write = next() < writeRatio
                            var request = URLRequest(url: URL(string: "\(base)/agents/\(agent)/\(write ? "episodes" : "retrieve-hybrid")")!)
                            request.httpMethod = "POST"
                            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                            let body: [String: Any] =
                                write
                                ? ["content": texts[(client * 1000 + n) % texts.count]]
                                : ["query": queries[(client * 37 + n) % queries.count], "limit": 10]
                            request.httpBody = try? JSONSerialization.data(withJSONObject: body)
                            n += 1
                            let start = DispatchTime.now().uptimeNanoseconds
                            let status: Int
                            do {
                                let (_, response) = try await session.data(for: request)
                                status = (response as? HTTPURLResponse)?.statusCode ?? 0
                            } catch {
                                status = -1
                            }
                            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                            stats.record(write: write, status: status, ms: ms)
                        }
                    }
                }
            }
            let elapsed = duration
            server.interrupt() // SIGINT: graceful shutdown
            server.waitUntilExit()
            // The store after the run, as the server left it.
            let stored = try await EpisodicMemory.open(
                db,
                configuration: {
                    var c = configuration; c.readOnly = true; return c
                }()
            ).stats().episodes
            let s = stats.snapshot
            let expected = seeded + s.acknowledgedWrites
            let report: [String: Any] = [
                "clients": clients, "duration_s": elapsed, "write_ratio": writeRatio, "threads": threads,
                "requests": s.all.count, "errors": s.errors, "throughput_rps": Double(s.all.count) / elapsed,
                "p50_ms": TimingSummary.percentile(s.all, 0.5), "p99_ms": TimingSummary.percentile(s.all, 0.99),
                "write_p50_ms": TimingSummary.percentile(s.writes, 0.5), "write_p99_ms": TimingSummary.percentile(s.writes, 0.99),
                "retrieve_p50_ms": TimingSummary.percentile(s.reads, 0.5), "retrieve_p99_ms": TimingSummary.percentile(s.reads, 0.99),
                "acknowledged_writes": s.acknowledgedWrites, "episodes_seeded": seeded, "episodes_after": stored,
                "count_matches": stored == expected, "server_exit_status": Int(server.terminationStatus),
            ]
            if json {
                print(JSONText.of(report))
            } else {
                print("load run: \(clients) clients, \(Int(elapsed)) s, \(Int(writeRatio * 100)) % writes, server threads \(threads)")
                print(String(format: "  %d requests, %d errors, %.1f requests/s", s.all.count, s.errors, Double(s.all.count) / elapsed))
                print(
                    String(
                        format: "  all:        p50 %.1f ms, p99 %.1f ms", TimingSummary.percentile(s.all, 0.5),
                        TimingSummary.percentile(s.all, 0.99)))
                print(
                    String(
                        format: "  writes:     p50 %.1f ms, p99 %.1f ms (%d acknowledged)", TimingSummary.percentile(s.writes, 0.5),
                        TimingSummary.percentile(s.writes, 0.99), s.acknowledgedWrites))
                print(
                    String(
                        format: "  retrievals: p50 %.1f ms, p99 %.1f ms", TimingSummary.percentile(s.reads, 0.5),
                        TimingSummary.percentile(s.reads, 0.99)))
                print(
                    "  episodes: \(seeded) seeded + \(s.acknowledgedWrites) acknowledged = \(expected); the server holds \(stored)"
                        + (stored == expected ? " ✓" : " ✗"))
                print("  server exit status after SIGINT: \(server.terminationStatus)")
            }
            if s.errors > 0 || stored != expected { throw ExitCode(ExitStatus.failure) }
        }
    }

    final class LoadRecorder: Sendable {
        private let stats = Mutex(LoadStats())
        func record(write: Bool, status: Int, ms: Double) { stats.withLock { $0.record(write: write, status: status, ms: ms) } }
        var snapshot: LoadStats { stats.withLock { $0 } }
    }

    struct LoadStats {
        var all: [Double] = [], writes: [Double] = [], reads: [Double] = []
        var errors = 0
        var acknowledgedWrites = 0

        mutating func record(write: Bool, status: Int, ms: Double) {
            all.append(ms)
            if write { writes.append(ms) } else { reads.append(ms) }
            if write && status == 201 { acknowledgedWrites += 1 }
            if !(200..<300).contains(status) { errors += 1 }
        }
    }

    /// Reads the child's stdout until its "listening on http://host:port" line.
    static func waitForAddress(_ pipe: Pipe) throws -> String? {
        var buffer = ""
        while true {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { return nil }
            buffer += String(decoding: chunk, as: UTF8.self)
            if let line = buffer.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }) {
                return String(line.dropFirst("listening on ".count))
            }
        }
    }
}
