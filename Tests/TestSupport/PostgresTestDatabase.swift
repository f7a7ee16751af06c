import Foundation
import Logging
import PostgresNIO

/// The store backends every backend-independent test runs on.
public enum Backend: String, CaseIterable, CustomStringConvertible, Sendable {
    case sqlite
    case postgres

    public var description: String { rawValue }
}

/// The PostgreSQL server the tests run against: `$EPISODIC_TEST_POSTGRES_URL`, which
/// scripts/test.sh sets after `scripts/postgres.sh start`. Each test gets a store in a PostgreSQL
/// schema of its own, dropped afterwards. Without the server the tests fail — never skip — with
/// how to start it.
public enum PostgresTestDatabase {
    public struct NotRunning: Error, CustomStringConvertible {
        public var description: String {
            "EPISODIC_TEST_POSTGRES_URL is not set: start PostgreSQL with `scripts/postgres.sh start` and run "
                + "`export EPISODIC_TEST_POSTGRES_URL=$(scripts/postgres.sh url)` (scripts/test.sh does both)"
        }
    }

    /// The server's URL.
    public static func baseURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["EPISODIC_TEST_POSTGRES_URL"], !url.isEmpty else { throw NotRunning() }
        return url
    }

    /// A URL for a new store in a schema of its own, with extra query parameters.
    public static func url(
        schema: String = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16),
        _ parameters: [String: String] = [:]
    ) throws -> (url: String, schema: String) {
        var components = URLComponents(string: try baseURL())!
        var items = components.queryItems ?? []
        items.append(URLQueryItem(name: "schema", value: schema))
        items.append(URLQueryItem(name: "sslmode", value: "disable"))
        for (name, value) in parameters.sorted(by: { $0.key < $1.key }) { items.append(URLQueryItem(name: name, value: value)) }
        components.queryItems = items
        return (components.string!, schema)
    }

    /// Runs SQL statements directly (to drop a test's schema, or to play another program).
    public static func execute(_ statements: [String]) async throws {
        let components = URLComponents(string: try baseURL())!
        var configuration = PostgresClient.Configuration(
            host: components.host ?? "127.0.0.1", port: components.port ?? 5432, username: components.user ?? "postgres",
            password: components.password, database: String(components.path.dropFirst()), tls: .disable)
        configuration.options.maximumConnections = 1
        var logger = Logger(label: "episodic.tests.postgres")
        logger.logLevel = .error
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            for statement in statements { try await client.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
        }
    }

    /// Drops a test's schema and everything in it.
    public static func drop(schema: String) async {
        try? await execute(["DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE"])
    }
}
