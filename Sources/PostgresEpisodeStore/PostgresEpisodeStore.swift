import EpisodeStore
import Foundation
import Logging
import NIOSSL
import PostgresNIO
import Synchronization
import VectorSearch

/// How to open a PostgreSQL store (besides its ``PostgresLocation``).
public struct PostgresStoreConfiguration: Sendable {
    /// The vector columns of a new store; an existing store's recorded columns are authoritative.
    public var columns: [VectorColumn]
    /// Create the store (its PostgreSQL schema and tables) when it does not exist.
    public var createIfMissing: Bool
    /// Refuse every write with ``StoreError/readOnly(location:)``.
    public var readOnly: Bool
    public var limits: EpisodeLimits
    /// Connections of the pool.
    public var maximumConnections: Int

    public init(
        columns: [VectorColumn] = [], createIfMissing: Bool = false, readOnly: Bool = false, limits: EpisodeLimits = .init(),
        maximumConnections: Int = 8
    ) {
        self.columns = columns
        self.createIfMissing = createIfMissing
        self.readOnly = readOnly
        self.limits = limits
        self.maximumConnections = maximumConnections
    }
}

/// The scale-out store: PostgreSQL (18, or any with pgvector ≥ 0.8) through PostgresNIO's
/// connection pool. Many stateless servers share one database: nothing is cached in the process
/// that another server could change — searches run in PostgreSQL (pgvector), and the vector LRU
/// above the store checks each entry against the row's cache time.
///
/// Layout: one PostgreSQL schema (`?schema=`, default `episodic`) with `episodes` (one row per
/// episode, its vectors in `vector(n)` / `halfvec(n)` columns named after the store's vector
/// columns, a generated `tsvector` for full text), the column registry, per-agent counts and the
/// migrations. Statements bind every value; the only identifiers written into SQL are the schema
/// and the column names, checked by ``PostgresIdentifier``.
///
/// Similarity search per agent: agents with at most ``PostgresLocation/exactScanLimit`` vectors
/// are scanned exactly (the btree on `agent_id`, then a sort); larger ones use the column's HNSW
/// index with pgvector's iterative scan, and fall back to the exact scan if that ever returns
/// fewer than `min(k, vectors of the agent)`. Either way the candidates are rescored with this
/// project's float32 kernel, so the scores equal the SQLite store's.
public final class PostgresEpisodeStore: EpisodeStoreBackend {
    public let location: String
    public let postgres: PostgresLocation
    public let configuration: PostgresStoreConfiguration
    public var limits: EpisodeLimits { configuration.limits }
    public let columns: [VectorColumn]
    /// How each column (staging columns included) is stored.
    let storage: Mutex<[String: PostgresLocation.VectorStorage]>
    let stagingColumns: Mutex<[String: VectorColumn]>
    /// Recently read episode counts per agent (the search path's choice), with when.
    let agentCounts = Mutex<[String: (Int, Date)]>([:])
    let columnsGeneration: String
    /// The quoted schema name, for statements.
    let schema: String
    let client: PostgresClient
    private let runTask: Task<Void, Never>
    let logger = Logger(label: "episodic.store.postgres")

    /// Connects and opens (creating and migrating as needed) the store at `url`. A schema holding
    /// tables of another program, or a store migrated by a newer version, is refused before
    /// anything is written.
    public static func open(url: String, configuration: PostgresStoreConfiguration = .init()) async throws -> PostgresEpisodeStore {
        let location = try PostgresLocation(url: url)
        try await probe(location)
        let client = PostgresClient(
            configuration: try Self.clientConfiguration(location, maximumConnections: configuration.maximumConnections),
            backgroundLogger: poolLogger)
        let runTask = Task { await client.run() }
        do {
            let opened = try await Self.prepare(client: client, location: location, configuration: configuration)
            return PostgresEpisodeStore(
                location: location, configuration: configuration, client: client, runTask: runTask, registry: opened)
        } catch {
            runTask.cancel()
            throw error
        }
    }

    private init(
        location: PostgresLocation, configuration: PostgresStoreConfiguration, client: PostgresClient, runTask: Task<Void, Never>,
        registry: Registry
    ) {
        self.postgres = location
        self.location = location.redacted
        self.configuration = configuration
        self.client = client
        self.runTask = runTask
        self.schema = "\"\(location.schema)\""
        columns = registry.columns
        stagingColumns = Mutex(registry.staging)
        storage = Mutex(registry.storage)
        columnsGeneration = registry.generation
    }

    /// How long ``close()`` waits for the connection pool to stop.
    static let closeTimeoutSeconds = 10.0

    /// Stops the connection pool, waiting at most ``closeTimeoutSeconds``: once in CI the
    /// client's run loop did not end after its connections had closed, and a command or server
    /// exiting must not hang on it (every write was committed before it returned).
    public func close() async {
        runTask.cancel()
        if await TaskDeadline.value(of: runTask, within: Self.closeTimeoutSeconds * 1000) == nil {
            logger.warning(
                "the PostgreSQL client had not stopped \(Int(Self.closeTimeoutSeconds)) s after closing; not waiting for it (every write is committed)"
            )
        }
    }

    /// Connects once, so that a server that is down, a wrong password or a missing database is
    /// reported at once (the pool would retry behind a circuit breaker for a minute).
    static func probe(_ location: PostgresLocation) async throws {
        let tls: PostgresConnection.Configuration.TLS
        do {
            switch location.tls {
            case .disable: tls = .disable
            case .prefer, .require:
                var insecure = TLSConfiguration.makeClientConfiguration()
                insecure.certificateVerification = .none
                tls =
                    location.tls == .prefer
                    ? .prefer(try NIOSSLContext(configuration: insecure)) : .require(try NIOSSLContext(configuration: insecure))
            case .verifyFull: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        } catch {
            throw StoreError.unavailable(location: location.redacted, reason: "TLS cannot be set up: \(error)")
        }
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user,
            password: location.password, database: location.database, tls: tls)
        configuration.options.connectTimeout = .seconds(10)
        try await translating(location.redacted) {
            do {
                let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: poolLogger)
                try await connection.close()
            } catch let error as PSQLError {
                throw error
            } catch {
                throw StoreError.unavailable(
                    location: location.redacted,
                    reason: "cannot connect (\(error)) — is the server running? (scripts/postgres.sh start)")
            }
        }
    }

    /// The pool's own log: its warnings (a lease asked for before `run()` has started) are noise
    /// for a command-line tool; errors still show.
    static var poolLogger: Logger {
        var logger = Logger(label: "episodic.store.postgres.pool")
        if logger.logLevel < .error { logger.logLevel = .error }
        return logger
    }

    static func clientConfiguration(_ location: PostgresLocation, maximumConnections: Int) throws -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch location.tls {
        case .disable: tls = .disable
        case .prefer:
            var insecure = TLSConfiguration.makeClientConfiguration()
            insecure.certificateVerification = .none
            tls = .prefer(insecure)
        case .require:
            var encrypted = TLSConfiguration.makeClientConfiguration()
            encrypted.certificateVerification = .none
            tls = .require(encrypted)
        case .verifyFull: tls = .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user,
            password: location.password, database: location.database, tls: tls)
        configuration.options.maximumConnections = max(1, maximumConnections)
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }

    // MARK: - Opening

    struct Registry {
        var columns: [VectorColumn]
        var staging: [String: VectorColumn]
        var storage: [String: PostgresLocation.VectorStorage]
        var generation: String
    }

    /// What the schema holds, read without writing anything.
    enum Contents {
        case empty
        case episodeStore(applied: [String])
        case foreign
    }

    static func contents(_ connection: PostgresConnection, schema name: String, logger: Logger) async throws -> Contents {
        let tables = try await connection.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = \(name)", logger: logger
        ).collect().map { try $0.decode(String.self) }
        if tables.isEmpty { return .empty }
        guard tables.contains("episodic_migrations"), tables.contains("store_meta") else { return .foreign }
        let quoted = "\"\(name)\""
        let applied = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT identifier FROM \(quoted).episodic_migrations ORDER BY applied_at, identifier"),
            logger: logger
        ).collect().map { try $0.decode(String.self) }
        guard applied.first == PostgresSchema.versions.first else { return .foreign }
        return .episodeStore(applied: applied)
    }

    private static func prepare(client: PostgresClient, location: PostgresLocation, configuration: PostgresStoreConfiguration) async throws
        -> Registry
    {
        let logger = Logger(label: "episodic.store.postgres")
        let schema = "\"\(location.schema)\""
        return try await translating(location.redacted) {
            try await client.withConnection { connection in
                switch try await contents(connection, schema: location.schema, logger: logger) {
                case .foreign: throw StoreError.notAnEpisodeStore(location: location.redacted)
                case .episodeStore(let applied):
                    let unknown = applied.filter { !PostgresSchema.versions.contains($0) }
                    if !unknown.isEmpty { throw StoreError.schemaTooNew(unknownMigrations: unknown) }
                    if configuration.readOnly, applied.last != PostgresSchema.latest {
                        throw StoreError.readOnly(location: location.redacted + " (its schema needs `episodic migrate`, which writes)")
                    }
                case .empty:
                    guard configuration.createIfMissing, !configuration.readOnly else {
                        throw StoreError.storeNotFound(location: location.redacted)
                    }
                }
                if !configuration.readOnly {
                    try await migrate(connection, schema: schema, to: PostgresSchema.latest, create: true, logger: logger)
                }
                return try await registerColumns(
                    configuration.columns, connection: connection, schema: schema, location: location,
                    readOnly: configuration.readOnly, logger: logger)
            }
        }
    }

    /// Records `requested` in a new store (adding their vector columns and HNSW indexes), or
    /// checks them against an existing store's registry.
    private static func registerColumns(
        _ requested: [VectorColumn], connection: PostgresConnection, schema: String,
        location: PostgresLocation, readOnly: Bool, logger: Logger
    ) async throws -> Registry {
        func read() async throws -> Registry {
            var registry = Registry(columns: [], staging: [:], storage: [:], generation: "1")
            let rows = try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT name, role, dimension, model_id, model_sha256, storage, replaces FROM \(schema).vector_columns ORDER BY role, name
                        """), logger: logger)
            for try await (name, role, dimension, model, sha, storage, replaces) in rows.decode(
                (String, String, Int, String, String, String, String?).self)
            {
                let column = VectorColumn(
                    name: name, role: VectorRole(rawValue: role) ?? .fast, dimension: dimension, modelID: model, modelSHA256: sha)
                registry.storage[name] = PostgresLocation.VectorStorage(rawValue: storage) ?? .vector
                if let replaces { registry.staging[replaces] = column } else { registry.columns.append(column) }
            }
            let generation = try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT value FROM \(schema).store_meta WHERE key = 'columns_generation'"),
                logger: logger
            ).collect().first
            registry.generation = try generation?.decode(String.self) ?? "1"
            return registry
        }
        let recorded = try await read()
        if recorded.columns.isEmpty && !requested.isEmpty {
            guard !readOnly else { throw StoreError.readOnly(location: location.redacted) }
            try await connection.query("BEGIN", logger: logger)
            do {
                for column in requested {
                    guard column.dimension > 0, column.dimension <= 16_000 else {
                        throw StoreError.columnMismatch(name: column.name, recorded: "nothing", requested: "dimension \(column.dimension)")
                    }
                    let storage: PostgresLocation.VectorStorage = column.role == .quality ? location.qualityStorage : .vector
                    try await addVectorColumn(
                        column, storage: storage, replaces: nil, connection: connection, schema: schema, logger: logger)
                }
                try await connection.query("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
            return try await read()
        }
        for column in requested {
            guard let existing = recorded.columns.first(where: { $0.name == column.name }) else {
                throw StoreError.columnMismatch(name: column.name, recorded: "absent", requested: "\(column.dimension) dimensions")
            }
            if existing.dimension != column.dimension || existing.role != column.role {
                throw StoreError.columnMismatch(
                    name: column.name, recorded: "\(existing.role.rawValue), \(existing.dimension) dimensions",
                    requested: "\(column.role.rawValue), \(column.dimension) dimensions")
            }
        }
        return recorded
    }

    /// Adds a vector column to `episodes`, its HNSW index, and its registry row.
    static func addVectorColumn(
        _ column: VectorColumn, storage: PostgresLocation.VectorStorage, replaces: String?,
        connection: PostgresConnection, schema: String, logger: Logger
    ) async throws {
        let name = try PostgresIdentifier.quoted(column.name)
        let operators = storage == .halfvec ? "halfvec_ip_ops" : "vector_ip_ops"
        try await connection.query(
            PostgresQuery(unsafeSQL: "ALTER TABLE \(schema).episodes ADD COLUMN \(name) \(storage.rawValue)(\(column.dimension))"),
            logger: logger)
        let index = try indexName(of: column.name)
        try await connection.query(
            PostgresQuery(unsafeSQL: "CREATE INDEX \(index) ON \(schema).episodes USING hnsw (\(name) \(operators))"),
            logger: logger)
        try await connection.query(
            """
            INSERT INTO \(unescaped: schema).vector_columns (name, role, dimension, model_id, model_sha256, created_at, storage, replaces)
            VALUES (\(column.name), \(column.role.rawValue), \(column.dimension), \(column.modelID), \(column.modelSHA256), \(Date()), \(storage.rawValue), \(replaces))
            """, logger: logger)
    }

    // MARK: - Migrations

    /// Extensions belong to the database, not to a store's schema: stores in two schemas of one
    /// database created at once both ran `CREATE EXTENSION IF NOT EXISTS`, which is not safe
    /// against itself (the second fails on pg_extension's unique name). A database-wide
    /// advisory lock, held to the end of the transaction, makes the second wait and then find it.
    /// Taken after the schema's lock (always in that order) and only when extensions may be
    /// created.
    static func lockExtensions(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtext('episodic'), hashtext('extensions'))", logger: logger)
    }

    /// Brings the schema to `target`, up or down, one migration per transaction under an advisory
    /// lock (two servers starting at once migrate once).
    static func migrate(_ connection: PostgresConnection, schema: String, to target: String, create: Bool, logger: Logger) async throws {
        guard let targetIndex = PostgresSchema.versions.firstIndex(of: target) else {
            throw StoreError.unknownMigration(target, known: PostgresSchema.versions)
        }
        try await connection.query("BEGIN", logger: logger)
        do {
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(schema)))", logger: logger)
            if create {
                try await lockExtensions(connection, logger: logger)
                try await connection.query("CREATE EXTENSION IF NOT EXISTS vector", logger: logger)
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(schema)"), logger: logger)
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            CREATE TABLE IF NOT EXISTS \(schema).episodic_migrations (identifier text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT clock_timestamp())
                            """), logger: logger)
            }
            let applied = try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT identifier FROM \(schema).episodic_migrations"), logger: logger
            )
            .collect().map { try $0.decode(String.self) }
            let unknown = applied.filter { !PostgresSchema.versions.contains($0) }
            if !unknown.isEmpty { throw StoreError.schemaTooNew(unknownMigrations: unknown) }
            let appliedIndex = applied.compactMap { PostgresSchema.versions.firstIndex(of: $0) }.max() ?? -1
            if appliedIndex < targetIndex {
                try await lockExtensions(connection, logger: logger)
                for migration in PostgresSchema.migrations[(appliedIndex + 1)...targetIndex] {
                    for statement in PostgresSchema.statements(migration.up, schema: schema) {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await migration.backfill?(connection, schema, logger)
                    try await connection.query(
                        PostgresQuery(
                            unsafeSQL: "INSERT INTO \(schema).episodic_migrations (identifier) VALUES ($1)",
                            binds: try bindings(migration.name)), logger: logger)
                }
            } else if appliedIndex > targetIndex {
                for migration in PostgresSchema.migrations[(targetIndex + 1)...appliedIndex].reversed() {
                    if let guardSQL = migration.downGuard {
                        let reason =
                            try await connection.query(
                                PostgresQuery(unsafeSQL: PostgresSchema.statements(guardSQL, schema: schema)[0]),
                                logger: logger
                            ).collect().first?.decode(String.self) ?? ""
                        if !reason.isEmpty { throw StoreError.reembedding(column: "", reason: reason) }
                    }
                    for statement in PostgresSchema.statements(migration.down, schema: schema) {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query(
                        PostgresQuery(
                            unsafeSQL: "DELETE FROM \(schema).episodic_migrations WHERE identifier = $1",
                            binds: try bindings(migration.name)), logger: logger)
                }
            }
            try await connection.query("COMMIT", logger: logger)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    static func bindings(_ values: String...) throws -> PostgresBindings {
        var binds = PostgresBindings()
        for value in values { try binds.append(value) }
        return binds
    }

    /// The named migrations of this backend, oldest first: the same names as the SQLite store's.
    public static var migrationNames: [String] { PostgresSchema.versions }

    /// Migrations applied to the store at `url`, oldest first (nothing is written; a store of a
    /// newer version is listed, not refused).
    public static func appliedMigrations(url: String) async throws -> [String] {
        let location = try PostgresLocation(url: url)
        try await probe(location)
        let client = PostgresClient(configuration: try clientConfiguration(location, maximumConnections: 1), backgroundLogger: poolLogger)
        let runTask = Task { await client.run() }
        defer { runTask.cancel() }
        let logger = Logger(label: "episodic.store.postgres")
        return try await translating(location.redacted) {
            try await client.withConnection { connection in
                switch try await contents(connection, schema: location.schema, logger: logger) {
                case .empty: throw StoreError.storeNotFound(location: location.redacted)
                case .foreign: throw StoreError.notAnEpisodeStore(location: location.redacted)
                case .episodeStore(let applied): return applied
                }
            }
        }
    }

    /// Brings the store at `url` to `target` (default: the latest); returns the migrations applied
    /// afterwards. A newer or foreign store is refused before anything is written.
    @discardableResult
    public static func migrate(url: String, to target: String? = nil) async throws -> [String] {
        let location = try PostgresLocation(url: url)
        try await probe(location)
        let client = PostgresClient(configuration: try clientConfiguration(location, maximumConnections: 1), backgroundLogger: poolLogger)
        let runTask = Task { await client.run() }
        defer { runTask.cancel() }
        let logger = Logger(label: "episodic.store.postgres")
        return try await translating(location.redacted) {
            try await client.withConnection { connection in
                switch try await contents(connection, schema: location.schema, logger: logger) {
                case .empty: throw StoreError.storeNotFound(location: location.redacted)
                case .foreign: throw StoreError.notAnEpisodeStore(location: location.redacted)
                case .episodeStore(let applied):
                    let unknown = applied.filter { !PostgresSchema.versions.contains($0) }
                    if !unknown.isEmpty { throw StoreError.schemaTooNew(unknownMigrations: unknown) }
                }
                try await migrate(
                    connection, schema: "\"\(location.schema)\"", to: target ?? PostgresSchema.latest, create: false, logger: logger)
                return try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "SELECT identifier FROM \"\(location.schema)\".episodic_migrations ORDER BY applied_at, identifier"),
                    logger: logger
                ).collect().map { try $0.decode(String.self) }
            }
        }
    }

    public func appliedMigrations() async throws -> [String] {
        try await read { connection in
            try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT identifier FROM \(self.schema).episodic_migrations ORDER BY applied_at, identifier"),
                logger: self.logger
            ).collect().map { try $0.decode(String.self) }
        }
    }

    // MARK: - Transactions and errors

    /// Runs `body` in a transaction after checking that no other process replaced a column's model
    /// since this one opened the store.
    func write<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        guard !configuration.readOnly else { throw StoreError.readOnly(location: location) }
        return try await Self.translating(location) {
            try await client.withConnection { connection in
                try await connection.query("BEGIN", logger: logger)
                do {
                    let generation =
                        try await connection.query(
                            PostgresQuery(unsafeSQL: "SELECT value FROM \(self.schema).store_meta WHERE key = 'columns_generation'"),
                            logger: logger
                        ).collect().first?.decode(String.self) ?? "1"
                    guard generation == columnsGeneration else { throw StoreError.columnsChanged(location: location) }
                    let result = try await body(connection)
                    try await connection.query("COMMIT", logger: logger)
                    return result
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw error
                }
            }
        }
    }

    func read<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await Self.translating(location) { try await client.withConnection { try await body($0) } }
    }

    /// Runs `body`, turning PostgreSQL's errors into ``StoreError``s that say what to fix.
    static func translating<T>(_ location: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PSQLError {
            throw Self.translate(error, location: location)
        }
    }

    static func translate(_ error: PSQLError, location: String) -> Error {
        if let state = error.serverInfo?[.sqlState] {
            let message = error.serverInfo?[.message] ?? "error \(state)"
            switch state {
            // A unique key of the episodes table is an episode id taken; any other (a catalogue's,
            // another table's) is not, and is reported as the server's error.
            case "23505" where error.serverInfo?[.tableName] == "episodes":
                return StoreError.duplicateEpisode(error.serverInfo?[.detail] ?? "")
            case "40001", "40P01", "55P03": return StoreError.busy(location: location)
            case "25006": return StoreError.readOnly(location: location)
            case "58P01" where message.contains("vector"), "0A000" where message.contains("vector"):
                return StoreError.unavailable(
                    location: location, reason: "pgvector is not installed on the server (\(message)); install pgvector ≥ 0.8")
            default:
                let detail = error.serverInfo?[.detail].map { " (\($0))" } ?? ""
                return StoreError.unavailable(location: location, reason: "PostgreSQL error \(state): \(message)\(detail)")
            }
        }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .sslUnsupported:
            let underlying = error.underlying.map { "\($0)" } ?? "\(error.code)"
            return StoreError.unavailable(
                location: location, reason: "cannot connect (\(underlying)) — is the server running? (scripts/postgres.sh start)")
        case .authMechanismRequiresPassword, .unsupportedAuthMechanism, .saslError:
            return StoreError.unavailable(
                location: location, reason: "authentication failed (\(error.code)); check the user and password in the URL")
        default:
            return StoreError.unavailable(location: location, reason: "\(error.code)")
        }
    }

    // MARK: - Maintenance

    public func stats() async throws -> StoreStats {
        try await read { connection in
            let counts = try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT count(*), count(DISTINCT agent_id), pg_total_relation_size('\(self.schema).episodes') FROM \(self.schema).episodes
                        """), logger: self.logger
            ).collect().first!.decode((Int, Int, Int64).self)
            var columnStats: [StoreStats.Column] = []
            for column in self.columns {
                let name = try PostgresIdentifier.quoted(column.name)
                let n = try await connection.query(
                    PostgresQuery(unsafeSQL: "SELECT count(\(name)) FROM \(self.schema).episodes"), logger: self.logger
                )
                .collect().first!.decode(Int.self)
                columnStats.append(.init(column: column, vectors: n))
            }
            let applied = try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT identifier FROM \(self.schema).episodic_migrations ORDER BY applied_at, identifier"),
                logger: self.logger
            ).collect().map { try $0.decode(String.self) }
            return StoreStats(
                location: self.location, backend: "postgresql", schemaVersion: applied.last ?? "none", episodes: counts.0,
                agents: counts.1, columns: columnStats, bytes: counts.2)
        }
    }
}
