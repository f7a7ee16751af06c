import VectorSearch

/// Everything an episode store refuses, with a message that says how to fix it. Both backends
/// throw the same errors for the same mistakes.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No store at the location (commands other than `init`, `serve` and `quickstart` create none).
    case storeNotFound(location: String)
    /// The file is not a SQLite database, or is damaged.
    case notADatabase(path: String)
    /// A database that is not an episode store (no `episodic_store` marker): refused unchanged.
    case notAnEpisodeStore(location: String)
    /// The database was migrated by a newer version of the code; it was left unchanged.
    case schemaTooNew(unknownMigrations: [String])
    /// A migration name that does not exist.
    case unknownMigration(String, known: [String])
    /// The columns requested when opening differ from those recorded in the database.
    case columnMismatch(name: String, recorded: String, requested: String)
    /// A vector that does not fit its column, or an unknown column.
    case vector(VectorError)
    /// An episode that breaks a rule (empty text, NUL, malformed id, date or metadata).
    case invalidEpisode(id: String, reason: String)
    /// An episode's content or summary is larger than the store accepts.
    case textTooLarge(id: String, field: String, bytes: Int, limit: Int)
    case episodeNotFound(String)
    /// An id already used by another episode of the same agent.
    case duplicateEpisode(String)
    /// An id the agent already uses for an episode with other content (an idempotent write).
    case conflictingEpisode(String)
    /// The episode changed between reading and writing it, more often than retries allow.
    case concurrentUpdate(String)
    /// A filter that cannot be applied.
    case invalidFilter(String)
    /// No episode of this agent exists.
    case unknownAgent(String)
    /// The model whose vectors a column holds is not the one offered (different weights).
    case modelMismatch(column: String, recordedModel: String, recordedSHA256: String, offeredModel: String, offeredSHA256: String)
    /// Another writer held the database longer than the busy timeout.
    case busy(location: String)
    /// The store was opened read-only (the file is not writable) and the operation writes.
    case readOnly(location: String)
    /// A stored row that cannot be read (written by another program, or damaged).
    case corruptEpisode(id: String, reason: String)
    /// Another process replaced a column's model (`episodic reembed`) after this one opened the store.
    case columnsChanged(location: String)
    /// A re-embedding that cannot start, continue or finish as asked.
    case reembedding(column: String, reason: String)
    /// The database cannot be reached or answered with an error of its own.
    case unavailable(location: String, reason: String)

    public var description: String {
        switch self {
        case .storeNotFound(let location):
            return "no episode store at \(location) — create one with `episodic --db \(location) init`"
        case .notADatabase(let path):
            return "\(path) is not an episode store (not a SQLite database, or damaged)"
        case .notAnEpisodeStore(let location):
            return
                "\(location) is a database of another program, not an episode store; it was not modified — give --db a new file or an episode store"
        case .schemaTooNew(let unknown):
            return
                "the database was written by a newer version of episodic (unknown migrations: \(unknown.joined(separator: ", "))); it was not modified — upgrade episodic to open it"
        case .unknownMigration(let name, let known):
            return "no migration named \(name); known: \(known.joined(separator: ", "))"
        case .columnMismatch(let name, let recorded, let requested):
            return
                "vector column \(name) is recorded as \(recorded) but \(requested) was requested — a column's dimension and model are fixed when the store is created"
        case .vector(let error):
            return error.description
        case .invalidEpisode(let id, let reason):
            return "episode \(id.isEmpty ? "(no id)" : id): \(reason)"
        case .textTooLarge(let id, let field, let bytes, let limit):
            return
                "episode \(id.isEmpty ? "(no id)" : id): \(field) has \(bytes) bytes, over the limit of \(limit) — split it or summarize it"
        case .episodeNotFound(let id):
            return "no episode with id \(id)"
        case .duplicateEpisode(let id):
            return "an episode with id \(id) already exists"
        case .conflictingEpisode(let id):
            return
                "an episode with id \(id) already exists with other content, summary or metadata — use another id, or PATCH the episode to change it"
        case .concurrentUpdate(let id):
            return "episode \(id) kept changing while this update was applied; retry"
        case .invalidFilter(let reason):
            return "invalid filter: \(reason)"
        case .unknownAgent(let agent):
            return "agent \(agent) has no episodes"
        case .modelMismatch(let column, let recordedModel, let recordedSHA, let offeredModel, let offeredSHA):
            return
                "column \(column) holds vectors of \(recordedModel) (sha256 \(recordedSHA.prefix(12))…), not of \(offeredModel) (sha256 \(offeredSHA.prefix(12))…) — mixing embedding spaces is refused; re-embed the column with `episodic reembed --column \(column) --model DIR` or use the recorded model"
        case .busy(let location):
            return "\(location) is locked by another writer for longer than the busy timeout; retry"
        case .readOnly(let location):
            return "\(location) is open read-only (the file or its folder is not writable); this operation writes — fix the permissions"
        case .corruptEpisode(let id, let reason):
            return "episode \(id) cannot be read: \(reason)"
        case .columnsChanged(let location):
            return
                "the vector columns of \(location) were changed by another process (`episodic reembed`) since this one opened it; restart this process"
        case .reembedding(let column, let reason):
            return "re-embedding column \(column): \(reason)"
        case .unavailable(let location, let reason):
            return "\(location) is unavailable: \(reason)"
        }
    }
}
