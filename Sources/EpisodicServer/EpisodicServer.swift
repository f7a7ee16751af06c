import EpisodicMemory
import Foundation
import Hummingbird
import Logging

/// Runs the HTTP API until SIGINT or SIGTERM: in-flight requests finish, background quality
/// embeddings are drained, then the store is released.
public enum EpisodicServer {
    public static func run(
        memory: EpisodicMemory, host: String, port: Int, configuration: APIConfiguration = .init(),
        onServerRunning: (@Sendable (Int) async -> Void)? = nil
    ) async throws {
        var configuration = configuration
        if var hosts = configuration.allowedHosts {
            // The address it listens on is always a name it answers to.
            hosts.insert(host.lowercased())
            configuration.allowedHosts = hosts
        }
        let api = EpisodicAPI(memory: memory, configuration: configuration)
        // The level comes from the process's logging bootstrap (EPISODIC_LOG_LEVEL for the CLI).
        let logger = Logger(label: "episodic.server")
        let app = Application(
            router: api.router(),
            server: api.server,
            configuration: .init(address: .hostname(host, port: port), serverName: "episodic"),
            onServerRunning: { channel in await onServerRunning?(channel.localAddress?.port ?? port) },
            logger: logger)
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        if !(await memory.close(within: closeTimeoutSeconds)) {
            logger.warning(
                """
                the store did not close within \(Int(closeTimeoutSeconds)) s; stopping without waiting (every acknowledged \
                write is committed; missing quality vectors are computed later, or by `episodic backfill`)
                """)
        }
    }

    /// How long a stopping server waits for background work and the store to close.
    public static let closeTimeoutSeconds = 60.0
}
