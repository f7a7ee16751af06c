import Foundation
import GRDB

/// Episode rows in and out of SQLite. Decoding never traps: GRDB's typed subscripts stop the
/// process on a value of the wrong type, so every column is read as a `DatabaseValue` and
/// checked; a row that cannot be read becomes ``StoreError/corruptEpisode(id:reason:)`` with its id.
enum SQLiteRows {
    /// The columns every episode query selects, in this order.
    static let episodeColumns = """
        agent_id, id, content, summary, metadata, created_at, embedding_cached, embedding_cached_at, \
        fastembed_cached, fastembed_cached_at, updated_at
        """

    static func episode(_ row: Row) throws(StoreError) -> Episode {
        let id = text(row[1]) ?? "(unreadable id)"
        func fail(_ reason: String) -> StoreError { .corruptEpisode(id: id, reason: reason) }
        guard let agent = text(row[0]) else { throw fail("agent_id is not text") }
        guard let content = text(row[2]) else { throw fail("content is not text") }
        let summaryValue: DatabaseValue = row[3]
        let summary = text(summaryValue)
        if summary == nil && !summaryValue.isNull { throw fail("summary is not text") }
        guard let metadataText = text(row[4]) else { throw fail("metadata is not text") }
        let metadata: [String: JSONValue]
        do {
            guard let object = try JSONParser(maxDepth: 256).parse(metadataText).objectValue else {
                throw fail("metadata is not a JSON object")
            }
            metadata = object
        } catch let error as JSONParseError {
            throw fail("metadata: \(error)")
        } catch {
            throw fail("metadata: \(error)")
        }
        guard let created = date(row[5]) else { throw fail("created_at is not a date") }
        var episode = Episode(id: id, agentID: agent, content: content, summary: summary, metadata: metadata, createdAt: created)
        episode.embeddingCached = bool(row[6])
        episode.embeddingCachedAt = date(row[7])
        episode.fastembedCached = bool(row[8])
        episode.fastembedCachedAt = date(row[9])
        episode.updatedAt = date(row[10]) ?? created
        return episode
    }

    /// Decodes rows, leaving out (and logging) those that cannot be read, so that one damaged row
    /// never makes the rest of an agent's memory unreadable.
    static func episodes(_ rows: [Row], log: (StoreError) -> Void) -> [Episode] {
        rows.compactMap { row in
            do throws(StoreError) { return try episode(row) } catch { log(error); return nil }
        }
    }

    static func text(_ value: DatabaseValue) -> String? {
        if case .string(let s) = value.storage { return s }
        return nil
    }

    static func bool(_ value: DatabaseValue) -> Bool {
        switch value.storage {
        case .int64(let i): return i != 0
        case .double(let d): return d != 0
        default: return false
        }
    }

    static func date(_ value: DatabaseValue) -> Date? {
        text(value).flatMap(EpisodeTime.date(storedText:))
    }

    /// Float32, little-endian, as stored in `episode_vectors.vector`.
    static func encode(_ vector: [Float]) -> Data {
        vector.withUnsafeBufferPointer { Data(buffer: $0) }
    }

    static func decode(_ data: Data) -> [Float] {
        [Float](unsafeUninitializedCapacity: data.count / 4) { buffer, count in
            _ = data.copyBytes(to: UnsafeMutableRawBufferPointer(buffer))
            count = data.count / 4
        }
    }
}
