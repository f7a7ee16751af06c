import EpisodeStore
import Foundation

/// Where a PostgreSQL store is and how to treat it, from a URL:
/// `postgres://user:password@host:port/database?sslmode=require&schema=episodic`.
///
/// Query parameters: `sslmode` (`disable`, `prefer` — the default —, `require`, `verify-full`),
/// `schema` (the PostgreSQL schema holding the store's tables; default `episodic`), `quality_vector`
/// (`vector` or `halfvec`: how a new store keeps quality vectors), `exact_scan_limit` (agents with
/// at most this many vectors in a column are searched exactly; above, HNSW with iterative scans),
/// `ef_search` (the HNSW candidate list of those searches: recall against latency).
public struct PostgresLocation: Sendable, Equatable {
    public enum TLSMode: String, Sendable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    public var schema: String
    public var qualityStorage: VectorStorage
    public var exactScanLimit: Int
    /// `hnsw.ef_search` of the approximate path; nil: 2·(k+16), at least 100 (pgvector's cap: 1000).
    public var efSearch: Int?

    /// How a vector column is stored: full `vector` (float32) or `halfvec` (float16, half the bytes).
    public enum VectorStorage: String, Sendable {
        case vector, halfvec
    }

    /// The URL without its password, for messages and logs.
    public var redacted: String {
        "postgres://\(user)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)?schema=\(schema)"
    }

    /// Whether `text` is a PostgreSQL URL.
    public static func isURL(_ text: String) -> Bool {
        let lowered = text.lowercased()
        return lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://")
    }

    public init(url text: String) throws(StoreError) {
        func bad(_ reason: String) -> StoreError {
            .unavailable(location: "postgres://…", reason: "the URL \(reason); give postgres://user:password@host:port/database")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "postgres" || scheme == "postgresql"
        else { throw bad("is not a postgres:// URL") }
        guard let host = components.host, !host.isEmpty else { throw bad("has no host") }
        self.host = host
        port = components.port ?? 5432
        user = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        password = components.password.flatMap { $0.removingPercentEncoding }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? user : (path.removingPercentEncoding ?? path)
        var tls = TLSMode.prefer, schema = "episodic", quality = VectorStorage.vector, limit = 10_000
        var ef: Int?
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "sslmode":
                switch value {
                case "disable", "allow": tls = .disable
                case "prefer": tls = .prefer
                case "require": tls = .require
                case "verify-ca", "verify-full": tls = .verifyFull
                default: throw bad("has sslmode=\(value) (disable, prefer, require or verify-full)")
                }
            case "schema":
                guard PostgresIdentifier.isValid(value) else { throw bad("has schema=\(value) (lowercase letters, digits and _)") }
                schema = value
            case "quality_vector":
                guard let storage = VectorStorage(rawValue: value) else { throw bad("has quality_vector=\(value) (vector or halfvec)") }
                quality = storage
            case "exact_scan_limit":
                guard let n = Int(value), n >= 0 else { throw bad("has exact_scan_limit=\(value) (a count)") }
                limit = n
            case "ef_search":
                guard let n = Int(value), (1...1000).contains(n) else { throw bad("has ef_search=\(value) (1…1000)") }
                ef = n
            case "application_name", "connect_timeout":
                continue
            default:
                throw bad("has an unknown parameter \(item.name)")
            }
        }
        self.tls = tls
        self.schema = schema
        qualityStorage = quality
        exactScanLimit = limit
        efSearch = ef
    }
}

/// SQL identifiers this store writes into statements (its schema, its vector columns): only
/// `[a-z_][a-z0-9_]*`, at most 48 characters, always double-quoted. Values are always bound.
public enum PostgresIdentifier {
    public static func isValid(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.unicodeScalars.count <= 48 else { return false }
        guard first == "_" || ("a"..."z").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
    }

    /// `"name"`, after checking it.
    static func quoted(_ name: String) throws(StoreError) -> String {
        guard isValid(name) else {
            throw .columnMismatch(name: name, recorded: "—", requested: "a name of lowercase letters, digits and _ (PostgreSQL)")
        }
        return "\"\(name)\""
    }
}
