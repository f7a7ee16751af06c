import ArgumentParser
import EpisodeStore
import Foundation

/// `episodic get ID`: prints one episode.
struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Print an episode as JSON.",
        discussion: """
        Example:
          episodic get 2f6c1e0a-… --vectors
        """)

    @OptionGroup var store: StoreOptions

    @Argument(help: "The episode id.")
    var id: String

    @Flag(help: "Include the stored vectors.")
    var vectors = false

    func run() async throws {
        try await reportingFailures {
            let store = try store.open()
            guard let episode = try store.episode(id: id) else { throw StoreError.episodeNotFound(id) }
            var object = EpisodeJSON.object(episode)
            if vectors {
                var stored: [String: Any] = [:]
                for column in store.columns {
                    stored[column.name] = try store.vector(column: column.name, episodeID: id).map { $0.map(Double.init) } ?? NSNull()
                }
                object["vectors"] = stored
            }
            print(EpisodeJSON.string(object, pretty: true))
        }
    }
}

/// `episodic delete ID`: deletes an episode and its vectors.
struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete an episode and its vectors.",
        discussion: """
        Exit status 66 when there is no such episode.

        Example:
          episodic delete 2f6c1e0a-…
        """)

    @OptionGroup var store: StoreOptions

    @Argument(help: "The episode id.")
    var id: String

    func run() async throws {
        try await reportingFailures {
            let store = try store.open()
            guard try store.delete(id: id) else { throw StoreError.episodeNotFound(id) }
            print("deleted \(id)")
        }
    }
}
