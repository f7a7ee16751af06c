import EpisodeStore
import EpisodicServer
import Foundation
import VectorSearch

/// Episodes as JSON, for output and for `import` lines.
enum EpisodeJSON {
    /// An episode as the HTTP API writes it (one shape for the API and the command line).
    static func object(_ e: Episode) -> [String: Any] {
        let data = (try? APIModels.encode(APIModels.EpisodeBody(e))) ?? Data("{}".utf8)
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    static func string(_ object: Any, pretty: Bool = false) -> String {
        let options: JSONSerialization.WritingOptions = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? JSONSerialization.data(withJSONObject: object, options: options)) ?? Data(), as: UTF8.self)
    }

    /// A date in ISO 8601 (with or without fractional seconds) or Unix seconds.
    static func date(_ value: Any) -> Date? {
        if let s = value as? String { return Dates.parse(s) }
        if let n = value as? NSNumber, type(of: n) != type(of: NSNumber(value: true)) {
            return Date(timeIntervalSince1970: n.doubleValue)
        }
        return nil
    }

    /// One line of an import file, parsed and checked; vectors keyed by column name.
    struct ImportLine {
        var episode: Episode
        var vectors: [String: [Float]]
    }

    enum LineError: Error { case invalid(String) }

    /// Parses `{"id"?, "agent_id", "content", "summary"?, "metadata"?, "created_at"?, "vectors"?}`.
    static func parseImportLine(_ line: Data, columns: [VectorColumn]) throws(LineError) -> ImportLine {
        guard String(validating: line, as: UTF8.self) != nil else { throw .invalid("not valid UTF-8") }
        guard let object = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any] else { throw .invalid("not a JSON object") }
        let known: Set<String> = ["id", "agent_id", "content", "summary", "metadata", "created_at", "vectors"]
        if let extra = object.keys.first(where: { !known.contains($0) }) { throw .invalid("unknown field \"\(extra)\"") }
        guard let agent = object["agent_id"] as? String else { throw .invalid("\"agent_id\" is missing or not a string") }
        guard let content = object["content"] as? String else { throw .invalid("\"content\" is missing or not a string") }
        var episode = Episode(agentID: agent, content: content)
        if let id = object["id"], !(id is NSNull) {
            guard let id = id as? String else { throw .invalid("\"id\" is not a string") }
            episode.id = id
        }
        if let summary = object["summary"], !(summary is NSNull) {
            guard let summary = summary as? String else { throw .invalid("\"summary\" is not a string") }
            episode.summary = summary
        }
        if let metadata = object["metadata"], !(metadata is NSNull) {
            guard let value = JSONValue(any: metadata), case .object(let fields) = value else { throw .invalid("\"metadata\" is not a JSON object") }
            episode.metadata = fields
        }
        if let created = object["created_at"], !(created is NSNull) {
            guard let date = date(created) else { throw .invalid("\"created_at\" is not an ISO 8601 date or Unix seconds") }
            episode.createdAt = date
        }
        var vectors: [String: [Float]] = [:]
        if let raw = object["vectors"], !(raw is NSNull) {
            guard let map = raw as? [String: Any] else { throw .invalid("\"vectors\" is not an object of column → array") }
            for (name, value) in map {
                guard let column = columns.first(where: { $0.name == name }) else { throw .invalid("no vector column named \(name)") }
                guard let numbers = value as? [Any] else { throw .invalid("vectors.\(name) is not an array of numbers") }
                var vector: [Float] = []
                vector.reserveCapacity(numbers.count)
                for n in numbers {
                    guard let number = n as? NSNumber, type(of: number) != type(of: NSNumber(value: true)) else {
                        throw .invalid("vectors.\(name) holds a value that is not a number")
                    }
                    vector.append(number.floatValue)
                }
                do { try column.validate(vector) } catch { throw .invalid(error.description) }
                vectors[name] = vector
            }
        }
        return ImportLine(episode: episode, vectors: vectors)
    }
}
