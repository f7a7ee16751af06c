import ArgumentParser
import CommandSupport
import EpisodicMemory
import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `episodic-bench serve`: load runs against a real server process on loopback, for several
/// numbers of clients and server configurations in one invocation.
struct BenchServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Load-test the HTTP API: concurrent clients, a mix of writes and hybrid retrievals.",
        discussion: """
            Seeds a store with synthetic episodes of five agents, then for each server configuration \
            and each number of clients: copies the seeded store, starts `episodic serve` as a child \
            process on 127.0.0.1, runs the clients for --duration seconds (each request a write with \
            probability --write-ratio, else a hybrid retrieval), stops the server with SIGINT, and \
            checks that the episode count equals the seeded episodes plus the acknowledged writes. \
            Prints requests/s, p50/p99 latency and errors per run. The configurations take turns for \
            each number of clients; with --rounds N they do so N times, and a summary gives each \
            one's median requests/s and p99 and, round by round, its requests/s over the first \
            configuration's (on a noisy host one pair of runs says little).

            Configurations: `default` (the server's defaults: batched embeddings, --precision auto), \
            `fp32-unbatched` (each request embeds on its own, float32: the server before batching), \
            or any `name=serve arguments` (e.g. `int8=--precision int8`).

            Example:
              swift run -c release episodic-bench serve --clients 1,4,16,64 --duration 60 --configurations fp32-unbatched,default
              swift run -c release episodic-bench serve --clients 16 --duration 60 --configurations fp32-unbatched,default --rounds 5
            """)

    @Option(help: "Concurrent clients, comma-separated (one run each).")
    var clients = "16"

    @Option(help: "Seconds of load per run.")
    var duration = 60.0

    @Option(help: "Fraction of requests that add an episode.")
    var writeRatio = 0.2

    @Option(help: "Threads per model of the unbatched configuration (batched servers use every core).")
    var threads = 2

    @Option(help: "Server configurations, comma-separated: default, fp32-unbatched, or name=serve arguments.")
    var configurations = "default"

    @Option(help: "Times the configurations take turns at each number of clients.")
    var rounds = 1

    @Flag(help: "Print one JSON object per run (and one for the summary of several rounds).")
    var json = false

    /// A server configuration: its name and the `serve` arguments that make it.
    static func arguments(of configuration: String, threads: Int) throws -> (String, [String]) {
        switch configuration {
        case "default": return ("default", [])
        case "fp32-unbatched": return (configuration, ["--precision", "fp32", "--no-batching", "--threads", "\(threads)"])
        default:
            let parts = configuration.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else {
                throw Failure(
                    message: "unknown configuration \(configuration): use default, fp32-unbatched or name=serve arguments",
                    status: ExitStatus.dataError)
            }
            return (parts[0], parts[1].split(separator: " ").map(String.init))
        }
    }

    func run() async throws {
        try await reportingFailures {
            let clientCounts = try clients.split(separator: ",").map { c -> Int in
                guard let n = Int(c.trimmingCharacters(in: .whitespaces)), n > 0 else {
                    throw Failure(message: "--clients takes positive numbers, got \(c)", status: ExitStatus.dataError)
                }
                return n
            }
            let servers = try configurations.split(separator: ",").map { try Self.arguments(of: String($0), threads: threads) }
            guard rounds > 0 else {
                throw Failure(message: "--rounds takes a positive number, got \(rounds)", status: ExitStatus.dataError)
            }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("episodic-load-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let template = directory.appendingPathComponent("seed.sqlite").path

            // Seed once with synthetic episodes of five agents (through the library); every run starts
            // from a copy of this file.
            var configuration = EpisodicMemory.Configuration()
            configuration.threads = 2
            let seedMemory = try await EpisodicMemory.open(template, configuration: configuration)
            let seedTexts = SyntheticEpisodes.episodes(300, seed: 29)
            let samples = seedTexts.enumerated().map { Episode(agentID: Self.agents[$0.offset % Self.agents.count], content: $0.element) }
            for start in stride(from: 0, to: samples.count, by: 64) {
                try await seedMemory.add(Array(samples[start..<min(samples.count, start + 64)]))
            }
            let seeded = try await seedMemory.stats().episodes
            await seedMemory.close()

            if !json {
                print(
                    "load runs: \(Int(duration)) s each, \(Int(writeRatio * 100)) % writes, \(seeded) seeded episodes of \(Self.agents.count) agents"
                )
                print(
                    TextTable.row(
                        [
                            "server", "clients", "requests", "errors", "req/s", "p50 ms", "p99 ms", "write p50", "read p50", "writes ack",
                            "count ok", "req/pass",
                        ],
                        widths: [-16, 8, 9, 7, 8, 9, 9, 10, 9, 11, 9, 9]))
            }
            var failed = false
            var summary = RoundSummary(configurations: servers.map(\.0))
            for count in clientCounts {
                for round in 0..<rounds {
                    for (index, (name, arguments)) in servers.enumerated() {
                        // A name per run: a configuration may be listed twice (to see the host's noise).
                        let db = directory.appendingPathComponent("run-\(index)-\(name)-\(count)-\(round).sqlite").path
                        try FileManager.default.copyItem(atPath: template, toPath: db)
                        let result = try await loadRun(db: db, serverArguments: arguments, clients: count, seeded: seeded)
                        var report = result
                        report["server"] = name
                        report["server_arguments"] = arguments.joined(separator: " ")
                        if json {
                            print(JSONText.of(report))
                        } else {
                            func f(_ key: String) -> String { String(format: "%.1f", report[key] as? Double ?? 0) }
                            print(
                                TextTable.row(
                                    [
                                        name, "\(count)", "\(report["requests"] ?? 0)", "\(report["errors"] ?? 0)", f("throughput_rps"),
                                        f("p50_ms"),
                                        f("p99_ms"), f("write_p50_ms"), f("retrieve_p50_ms"), "\(report["acknowledged_writes"] ?? 0)",
                                        (report["count_matches"] as? Bool) == true ? "yes" : "NO",
                                        (report["requests_per_pass"] as? Double ?? 0) > 0 ? f("requests_per_pass") : "-",
                                    ], widths: [-16, 8, 9, 7, 8, 9, 9, 10, 9, 11, 9, 9]))
                        }
                        if (report["errors"] as? Int ?? 1) > 0 || (report["count_matches"] as? Bool) != true { failed = true }
                        summary.record(
                            clients: count, round: round, configuration: index,
                            throughput: report["throughput_rps"] as? Double ?? 0, p99: report["p99_ms"] as? Double ?? 0)
                        // With its WAL and shared-memory files: a later copy under the same name must
                        // not meet another database's log.
                        for suffix in ["", "-wal", "-shm", ".log"] { try? FileManager.default.removeItem(atPath: db + suffix) }
                    }
                }
            }
            if rounds > 1 {
                if json {
                    print(JSONText.of(["summary": summary.report(clientCounts)]))
                } else {
                    print(summary.text(clientCounts))
                }
            }
            if failed { throw ExitCode(ExitStatus.failure) }
        }
    }

    static let agents = ["assistant", "devops", "support", "travel", "research"]

    /// One load run against a server over `db`; the report's figures.
    func loadRun(db: String, serverArguments: [String], clients: Int, seeded: Int) async throws -> [String: Any] {
        let server = Process()
        // The product's own binary, built next to this one.
        server.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
            .deletingLastPathComponent().appendingPathComponent("episodic")
        server.arguments = ["--db", db, "serve", "--port", "0", "--preload", "--time-budget-ms", "0"] + serverArguments
        let output = Pipe()
        server.standardOutput = output
        // The server's log goes to a file (a pipe nobody reads would fill and stall it), shown if
        // it fails to start.
        let log = db + ".log"
        FileManager.default.createFile(atPath: log, contents: nil)
        server.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try server.run()
        defer { if server.isRunning { server.terminate() } }
        guard let base = try Self.waitForAddress(output) else {
            let said = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw Failure(
                message: "the server did not start (arguments: \(server.arguments ?? [])); it said:\n\(said.suffix(2000))",
                status: ExitStatus.unavailable)
        }
        let agents = Self.agents
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
        // How much the batcher gathered: embedding requests per forward pass (a retrieval asks for
        // two embeddings, a write for two).
        var requestsPerPass: Double?
        if let (body, _) = try? await session.data(from: URL(string: "\(base)/metrics")!) {
            let totals = Self.metricTotals(String(decoding: body, as: UTF8.self))
            if let passes = totals["episodic_embedding_passes_total"], passes > 0 {
                requestsPerPass = (totals["episodic_embedding_batched_requests_total"] ?? 0) / passes
            }
        }
        server.interrupt() // SIGINT: graceful shutdown
        server.waitUntilExit()
        // The store after the run, as the server left it.
        var readOnly = EpisodicMemory.Configuration()
        readOnly.readOnly = true
        let reopened = try await EpisodicMemory.open(db, configuration: readOnly)
        let stored = try await reopened.stats().episodes
        await reopened.close()
        let s = stats.snapshot
        let expected = seeded + s.acknowledgedWrites
        return [
            "clients": clients, "duration_s": duration, "write_ratio": writeRatio,
            "requests": s.all.count, "errors": s.errors, "throughput_rps": Double(s.all.count) / duration,
            "p50_ms": TimingSummary.percentile(s.all, 0.5), "p99_ms": TimingSummary.percentile(s.all, 0.99),
            "write_p50_ms": TimingSummary.percentile(s.writes, 0.5), "write_p99_ms": TimingSummary.percentile(s.writes, 0.99),
            "retrieve_p50_ms": TimingSummary.percentile(s.reads, 0.5), "retrieve_p99_ms": TimingSummary.percentile(s.reads, 0.99),
            "acknowledged_writes": s.acknowledgedWrites, "episodes_seeded": seeded, "episodes_after": stored,
            "count_matches": stored == expected, "server_exit_status": Int(server.terminationStatus),
            "requests_per_pass": requestsPerPass ?? 0,
        ]
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

    /// Unlabelled samples of a Prometheus text exposition, by metric name.
    static func metricTotals(_ text: String) -> [String: Double] {
        var totals: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: " ")
            if fields.count == 2, !fields[0].contains("{"), let value = Double(fields[1]) { totals[String(fields[0])] = value }
        }
        return totals
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
