import ArgumentParser
import CommandSupport
import EpisodicMemory
import EpisodicServer
import Foundation

/// `episodic serve`: the HTTP API.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API (OpenAPI document at /openapi.json).",
        discussion: """
            Stops gracefully on SIGINT or SIGTERM: in-flight requests finish and background quality \
            embeddings are drained. A missing store is created with the bundled models' columns. \
            --port 0 picks a free port; the address is printed once the server listens.

            API keys (`episodic keys create`): --auth required makes every route but /health need             `Authorization: Bearer <key>`. On a loopback address the default is --auth off; on any             other address keys are required, and the server refuses to start with --auth off unless             --insecure-no-auth is also given. A server on loopback answers only to loopback Host             names (DNS-rebinding protection); --allow-host adds names (behind a proxy).

            Examples:
              episodic --db memory.sqlite serve --port 8080
              curl -s localhost:8080/agents/planner/retrieve-hybrid -H 'content-type: application/json' -d '{"query": "flight to Lisbon"}'
              episodic --db memory.sqlite serve --host 0.0.0.0 --port 8080        # keys required
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port (0: any free port).")
    var port = 8080

    @Option(help: "Threads per model (default: 1, or every core with --batching).")
    var threads: Int?

    @Flag(
        inversion: .prefixedNo,
        help: "Gather concurrent requests' embeddings into shared forward passes, run one at a time on every core.")
    var batching = true

    @Option(help: "Quality vectors of added episodes: sync, background or defer.")
    var quality = QualityOption.sync

    @Option(help: "Largest request body in bytes.")
    var maxBodyBytes = 8 << 20

    @Option(help: "Time budget of the quality stage in ms (coarse fallback beyond); 0 for none.")
    var timeBudgetMs = 2000.0

    @Flag(help: "Load both models before listening (otherwise on first use).")
    var preload = false

    @Option(help: "MiB of full-text postings kept in memory for agents searched while unchanged (SQLite; 0: none).")
    var lexicalMemoryMb = SQLiteStoreConfiguration().lexicalMemoryBytes >> 20

    @Option(help: "API keys: required or off (default: off on loopback, required elsewhere).")
    var auth: AuthenticationMode?

    @Flag(help: "Allow --auth off on a non-loopback address: anyone who reaches the port reads and deletes every memory.")
    var insecureNoAuth = false

    @Option(help: "Another Host name to answer to (repeatable; a server on loopback answers only to loopback names).")
    var allowHost: [String] = []

    static let loopback: Set<String> = ["127.0.0.1", "::1", "localhost"]

    func validate() throws {
        guard (0...(1 << 30)).contains(lexicalMemoryMb) else {
            throw ValidationError("--lexical-memory-mb must be between 0 and \(1 << 30), got \(lexicalMemoryMb)")
        }
    }

    /// The authentication mode to run with, or the reason not to start.
    func authentication() throws -> AuthenticationMode {
        let isLoopback = Self.loopback.contains(host.lowercased()) || host.hasPrefix("127.")
        let mode = auth ?? (isLoopback ? .off : .required)
        if mode == .off && !isLoopback {
            guard insecureNoAuth else {
                throw Failure(
                    message:
                        "refusing to serve \(host) without API keys: anyone who reaches the port could read and delete every agent's memory — create a key (`episodic keys create --agent A`) and drop --auth off, or add --insecure-no-auth",
                    status: 64)
            }
            printError(
                "WARNING: serving \(host) with --insecure-no-auth: no API keys; every agent's memory is open to anyone who reaches this port"
            )
        }
        return mode
    }

    func run() async throws {
        try await reportingFailures {
            let authentication = try authentication()
            let existed = try await StoreLocation(store.location).exists()
            let memory = try await store.open(create: true) {
                $0.qualityMode = quality.mode
                $0.batching = batching
                $0.threads = threads ?? (batching ? ProcessInfo.processInfo.activeProcessorCount : 1)
                $0.lexicalMemoryBytes = lexicalMemoryMb << 20
            }
            if !existed { printError("created \(memory.location)") }
            // A server pays for the vector indexes (and, asked, the models) before listening.
            let loadStart = DispatchTime.now().uptimeNanoseconds
            if let error = try await memory.prepare(models: preload) {
                printError("warning: quality model not loaded (\(error)); hybrid retrieval will fall back to the coarse ranking")
            }
            printError("ready in \(Int(Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e6)) ms")
            var api = APIConfiguration()
            api.authentication = authentication
            if authentication == .required, try await memory.keys().allSatisfy({ !$0.isValid(at: Date()) }) {
                printError(
                    "warning: API keys are required but the store has no active key; create one with `episodic keys create --agent A`")
            }
            let isLoopback = Self.loopback.contains(host.lowercased()) || host.hasPrefix("127.")
            // Host checks protect a loopback server from pages on other names; elsewhere keys do.
            api.allowedHosts =
                isLoopback
                ? APIConfiguration.loopbackHosts.union(allowHost.map { $0.lowercased() })
                : (allowHost.isEmpty ? nil : Set(allowHost.map { $0.lowercased() }))
            api.maxBodyBytes = maxBodyBytes
            api.retrievalTimeBudgetMs = timeBudgetMs > 0 ? timeBudgetMs : nil
            let host = self.host
            try await EpisodicServer.run(memory: memory, host: host, port: port, configuration: api) { port in
                // Unbuffered: scripts and tests wait for this line to learn the port.
                FileHandle.standardOutput.write(Data("listening on http://\(host):\(port)\n".utf8))
            }
            printError("stopped")
        }
    }
}

extension AuthenticationMode: ExpressibleByArgument {}
