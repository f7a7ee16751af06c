import EpisodeStore
import Foundation
import PostgresEpisodeStore
import VectorSearch

/// Where a store is, from `--db` / `$EPISODIC_DB`: the one place that names a concrete backend.
/// A file path is a SQLite store (the embedded default); a `postgres://user:password@host:port/db`
/// URL (with `sslmode`, `schema`, …: see ``PostgresLocation``) a PostgreSQL store.
public enum StoreLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(url: String)

    /// The location of `text`: a `postgres://` or `postgresql://` URL, else a file path.
    public init(_ text: String) throws {
        if PostgresLocation.isURL(text) {
            _ = try PostgresLocation(url: text)
            self = .postgres(url: text)
            return
        }
        guard !text.isEmpty else { throw StoreError.storeNotFound(location: "(empty --db)") }
        self = .sqlite(path: text)
    }

    /// `$EPISODIC_DB`, else `./episodic.sqlite`.
    public static var defaultText: String {
        if let value = ProcessInfo.processInfo.environment["EPISODIC_DB"], !value.isEmpty { return value }
        return "episodic.sqlite"
    }

    /// A URL with its password replaced by `***`, for messages and logs.
    public static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? text
    }

    /// Whether a store (or anything at all, for a file) is there.
    public func exists() async throws -> Bool {
        switch self {
        case .sqlite(let path): return FileManager.default.fileExists(atPath: path)
        case .postgres(let url):
            do {
                _ = try await PostgresEpisodeStore.appliedMigrations(url: url)
                return true
            } catch StoreError.storeNotFound {
                return false
            } catch StoreError.notAnEpisodeStore {
                return true
            }
        }
    }

    /// Opens the store; `columns` are recorded when it is created.
    func open(columns: [VectorColumn], configuration: EpisodicMemory.Configuration) async throws -> any EpisodeStoreBackend {
        switch self {
        case .sqlite(let path):
            return try SQLiteEpisodeStore(
                path: path,
                configuration: .init(
                    columns: columns, createIfMissing: configuration.createIfMissing, readOnly: configuration.readOnly,
                    limits: configuration.limits, lexicalMemoryBytes: configuration.lexicalMemoryBytes))
        case .postgres(let url):
            return try await PostgresEpisodeStore.open(
                url: url,
                configuration: .init(
                    columns: columns, createIfMissing: configuration.createIfMissing, readOnly: configuration.readOnly,
                    limits: configuration.limits))
        }
    }

    /// Migrations applied to the store, oldest first (nothing is written).
    func appliedMigrations() async throws -> [String] {
        switch self {
        case .sqlite(let path): return try SQLiteEpisodeStore.appliedMigrations(path: path)
        case .postgres(let url): return try await PostgresEpisodeStore.appliedMigrations(url: url)
        }
    }

    /// Brings the store to `target` (default: latest); refuses a newer store before writing.
    func migrate(to target: String?) async throws -> [String] {
        switch self {
        case .sqlite(let path): return try SQLiteEpisodeStore.migrate(path: path, to: target)
        case .postgres(let url): return try await PostgresEpisodeStore.migrate(url: url, to: target)
        }
    }

    /// The named migrations of the backend, oldest first.
    var migrationNames: [String] {
        switch self {
        case .sqlite: return SQLiteSchema.versions
        case .postgres: return PostgresEpisodeStore.migrationNames
        }
    }
}
