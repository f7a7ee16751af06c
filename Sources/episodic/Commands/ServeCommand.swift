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

            Example:
              episodic --db memory.sqlite serve --port 8080
              curl -s localhost:8080/agents/planner/retrieve-hybrid -H 'content-type: application/json' -d '{"query": "flight to Lisbon"}'
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port (0: any free port).")
    var port = 8080

    @Option(help: "Threads per model.")
    var threads = 1

    @Option(help: "Quality vectors of added episodes: sync, background or defer.")
    var quality = QualityOption.sync

    @Option(help: "Largest request body in bytes.")
    var maxBodyBytes = 8 << 20

    @Option(help: "Time budget of the quality stage in ms (coarse fallback beyond); 0 for none.")
    var timeBudgetMs = 2000.0

    @Flag(help: "Load both models before listening (otherwise on first use).")
    var preload = false

    func run() async throws {
        try await reportingFailures {
            let existed = try await StoreLocation(store.location).exists()
            let memory = try await store.open(create: true) {
                $0.qualityMode = quality.mode
                $0.threads = threads
            }
            if !existed { printError("created \(memory.location)") }
            // A server pays for the vector indexes (and, asked, the models) before listening.
            let loadStart = DispatchTime.now().uptimeNanoseconds
            if let error = try await memory.prepare(models: preload) {
                printError("warning: quality model not loaded (\(error)); hybrid retrieval will fall back to the coarse ranking")
            }
            printError("ready in \(Int(Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e6)) ms")
            var api = APIConfiguration()
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
