import VectorSearch

/// Everything the episode store refuses, with a message that says how to fix it.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No database at the path (commands other than `init` do not create one).
    case storeNotFound(path: String)
    /// The file is not a SQLite database, or is damaged.
    case notADatabase(path: String)
    /// The database was migrated by a newer version of the code; it was left unchanged.
    case schemaTooNew(unknownMigrations: [String])
    /// A migration name that does not exist.
    case unknownMigration(String, known: [String])
    /// The database is at an older schema than this code needs (after a downgrade).
    case schemaTooOld(applied: [String], required: [String])
    /// The columns requested when opening differ from those recorded in the database.
    case columnMismatch(name: String, recorded: String, requested: String)
    /// A vector that does not fit its column, or an unknown column.
    case vector(VectorError)
    /// An episode that breaks a rule (empty text, text too large, malformed id or metadata).
    case invalidEpisode(id: String, reason: String)
    /// An episode's content or summary is larger than the store accepts.
    case textTooLarge(id: String, field: String, bytes: Int, limit: Int)
    case episodeNotFound(String)
    case duplicateEpisode(String)
    /// No episode of this agent exists.
    case unknownAgent(String)
    /// The model whose vectors a column holds is not the one offered (different weights).
    case modelMismatch(column: String, recordedModel: String, recordedSHA256: String, offeredModel: String, offeredSHA256: String)
    /// Another writer held the database longer than the busy timeout.
    case busy(path: String)

    public var description: String {
        switch self {
        case let .storeNotFound(path):
            return "no episode store at \(path) — create one with `episodic --db \(path) init`"
        case let .notADatabase(path):
            return "\(path) is not an episode store (not a SQLite database, or damaged)"
        case let .schemaTooNew(unknown):
            return "the database was written by a newer version of episodic (unknown migrations: \(unknown.joined(separator: ", "))); it was not modified — upgrade episodic to open it"
        case let .unknownMigration(name, known):
            return "no migration named \(name); known: \(known.joined(separator: ", "))"
        case let .schemaTooOld(applied, required):
            return "the database is at schema \(applied.last ?? "none") but this code needs \(required.last ?? "?") — run `episodic migrate`"
        case let .columnMismatch(name, recorded, requested):
            return "vector column \(name) is recorded as \(recorded) but \(requested) was requested — a column's dimension and model are fixed when the store is created"
        case let .vector(error):
            return error.description
        case let .invalidEpisode(id, reason):
            return "episode \(id.isEmpty ? "(no id)" : id): \(reason)"
        case let .textTooLarge(id, field, bytes, limit):
            return "episode \(id.isEmpty ? "(no id)" : id): \(field) has \(bytes) bytes, over the limit of \(limit) — split it or summarize it"
        case let .episodeNotFound(id):
            return "no episode with id \(id)"
        case let .duplicateEpisode(id):
            return "an episode with id \(id) already exists"
        case let .unknownAgent(agent):
            return "agent \(agent) has no episodes"
        case let .modelMismatch(column, recordedModel, recordedSHA, offeredModel, offeredSHA):
            return "column \(column) holds vectors of \(recordedModel) (sha256 \(recordedSHA.prefix(12))…), not of \(offeredModel) (sha256 \(offeredSHA.prefix(12))…) — mixing embedding spaces is refused; re-embed with `episodic reembed` or use the recorded model"
        case let .busy(path):
            return "\(path) is locked by another writer for longer than the busy timeout; retry"
        }
    }
}
