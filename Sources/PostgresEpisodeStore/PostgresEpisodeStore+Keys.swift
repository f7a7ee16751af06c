import EpisodeStore
import Foundation
import PostgresNIO

extension PostgresEpisodeStore {
    static let keyColumns = "id, name, secret_sha256, scope::text, created_at, last_used_at, expires_at, revoked_at"

    public func insertKey(_ record: APIKeyRecord) async throws {
        var binds = PostgresBindings()
        try binds.append(record.id)
        try binds.append(record.name)
        binds.append(ByteBuffer(bytes: record.secretSHA256))
        try binds.append(record.scopeJSON)
        try binds.append(record.createdAt)
        try binds.append(record.expiresAt)
        let query = PostgresQuery(
            unsafeSQL: """
                INSERT INTO \(schema).api_keys (id, name, secret_sha256, scope, created_at, expires_at)
                VALUES ($1, $2, $3, $4::jsonb, $5, $6)
                """, binds: binds)
        try await write { connection in try await connection.query(query, logger: self.logger) }
    }

    public func key(id: String) async throws -> APIKeyRecord? {
        let query = PostgresQuery(
            unsafeSQL: "SELECT \(Self.keyColumns) FROM \(schema).api_keys WHERE id = $1", binds: try Self.bindings(id))
        let rows = try await read { connection in try await connection.query(query, logger: self.logger).collect() }
        return rows.first.flatMap(Self.keyRecord)
    }

    public func keys() async throws -> [APIKeyRecord] {
        let query = PostgresQuery(unsafeSQL: "SELECT \(Self.keyColumns) FROM \(schema).api_keys ORDER BY created_at DESC, id")
        let rows = try await read { connection in try await connection.query(query, logger: self.logger).collect() }
        return rows.compactMap(Self.keyRecord)
    }

    public func revokeKey(id: String, at date: Date) async throws -> Bool {
        var binds = PostgresBindings()
        try binds.append(id)
        try binds.append(date)
        let query = PostgresQuery(
            unsafeSQL: "UPDATE \(schema).api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING 1", binds: binds)
        return try await write { connection in try await !connection.query(query, logger: self.logger).collect().isEmpty }
    }

    public func touchKey(id: String, at date: Date) async throws {
        var binds = PostgresBindings()
        try binds.append(id)
        try binds.append(date)
        let query = PostgresQuery(unsafeSQL: "UPDATE \(schema).api_keys SET last_used_at = $2 WHERE id = $1", binds: binds)
        try await write { connection in try await connection.query(query, logger: self.logger) }
    }

    static func keyRecord(_ row: PostgresRow) -> APIKeyRecord? {
        guard
            let (id, name, digest, scopeText, created, used, expires, revoked) = try? row.decode(
                (String, String, ByteBuffer, String, Date, Date?, Date?, Date?).self),
            digest.readableBytes == 32, let scope = APIKeyRecord.scope(fromJSON: scopeText)
        else { return nil }
        return APIKeyRecord(
            id: id, name: name, secretSHA256: Array(digest.readableBytesView), scope: scope, createdAt: created, lastUsedAt: used,
            expiresAt: expires, revokedAt: revoked)
    }
}
