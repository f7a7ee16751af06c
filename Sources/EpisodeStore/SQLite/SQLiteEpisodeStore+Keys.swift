import Foundation
import GRDB

extension SQLiteEpisodeStore {
    public func insertKey(_ record: APIKeyRecord) async throws {
        _ = try write { db, _ in
            try db.execute(
                sql: """
                    INSERT INTO api_keys(id, name, secret_sha256, scope, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    record.id, record.name, Data(record.secretSHA256), record.scopeJSON, EpisodeTime.storedText(record.createdAt),
                    record.expiresAt.map(EpisodeTime.storedText),
                ])
        }
    }

    public func key(id: String) async throws -> APIKeyRecord? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.keyColumns) FROM api_keys WHERE id = ?", arguments: [id]).flatMap(Self.keyRecord)
        }
    }

    public func keys() async throws -> [APIKeyRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.keyColumns) FROM api_keys ORDER BY created_at DESC, id").compactMap(Self.keyRecord)
        }
    }

    public func revokeKey(id: String, at date: Date) async throws -> Bool {
        try write { db, _ in
            try db.execute(
                sql: "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                arguments: [EpisodeTime.storedText(date), id])
            return db.changesCount > 0
        }
    }

    public func touchKey(id: String, at date: Date) async throws {
        _ = try write { db, _ in
            try db.execute(sql: "UPDATE api_keys SET last_used_at = ? WHERE id = ?", arguments: [EpisodeTime.storedText(date), id])
        }
    }

    static let keyColumns = "id, name, secret_sha256, scope, created_at, last_used_at, expires_at, revoked_at"

    /// A key from a row of ``keyColumns``; nil (never a trap) for a row no episodic wrote.
    static func keyRecord(_ row: Row) -> APIKeyRecord? {
        guard let id = SQLiteRows.text(row[0]), let name = SQLiteRows.text(row[1]),
            case .blob(let digest) = (row[2] as DatabaseValue).storage, digest.count == 32,
            let scopeText = SQLiteRows.text(row[3]), let scope = APIKeyRecord.scope(fromJSON: scopeText),
            let created = SQLiteRows.text(row[4]).flatMap(EpisodeTime.date(storedText:))
        else { return nil }
        func date(_ i: Int) -> Date? { SQLiteRows.text(row[i]).flatMap(EpisodeTime.date(storedText:)) }
        return APIKeyRecord(
            id: id, name: name, secretSHA256: Array(digest), scope: scope, createdAt: created, lastUsedAt: date(5),
            expiresAt: date(6), revokedAt: date(7))
    }
}
