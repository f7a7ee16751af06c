import ArgumentParser
import CommandSupport
import EpisodicMemory
import EpisodicWire
import Foundation

/// `episodic keys`: API keys of a store.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke the API keys that `serve --auth required` (and /mcp) accept.",
        discussion: """
            A key is scoped to agents (by id, or by id prefix), optionally read-only, optionally \
            admin (key management over HTTP, /metrics, every agent). The store keeps only its \
            SHA-256: the secret is printed once, by `create`.

            Examples:
              episodic keys create --agent planner --name laptop
              episodic keys create --agent-prefix team-a/ --read-only --expires 2027-01-01T00:00:00Z
              episodic keys create --admin --name ops
              episodic keys list
              episodic keys revoke 3f9c2a71d0b4e8a6
            """,
        subcommands: [KeysCreateCommand.self, KeysListCommand.self, KeysRevokeCommand.self])
}

struct KeysCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a key and print its secret (once).")

    @OptionGroup var store: StoreOptions

    @Option(help: "An agent the key covers (repeatable).")
    var agent: [String] = []

    @Option(help: "Covers every agent whose id starts with this (repeatable).")
    var agentPrefix: [String] = []

    @Flag(help: "Reads only: adding, changing and deleting episodes is refused.")
    var readOnly = false

    @Flag(help: "Key management over HTTP, /metrics, and every agent.")
    var admin = false

    @Option(help: "A name to recognise the key by.")
    var name = ""

    @Option(help: "When the key stops working: RFC 3339.")
    var expires: String?

    @Flag(help: "Print JSON (the secret and the key's facts).")
    var json = false

    func run() async throws {
        try await reportingFailures {
            var expiresAt: Date?
            if let expires {
                do { expiresAt = try EpisodeTime.parse(rfc3339: expires) } catch {
                    throw Failure(message: "--expires \(expires) is \(error)", status: ExitStatus.dataError)
                }
            }
            if agentPrefix.contains(where: \.isEmpty) {
                throw Failure(message: "--agent-prefix must not be empty", status: ExitStatus.dataError)
            }
            let memory = try await store.open()
            let issued: IssuedAPIKey
            do {
                issued = try await memory.createKey(
                    name: name, scope: APIKeyScope(agents: Set(agent), agentPrefixes: agentPrefix, readOnly: readOnly, admin: admin),
                    expiresAt: expiresAt)
            } catch let error as APIKeyError {
                throw Failure(message: error.description, status: ExitStatus.dataError)
            }
            await memory.close()
            if json {
                print(JSONText.of(["id": issued.record.id, "secret": issued.secret, "scope": issued.record.scope.summary]))
            } else {
                print(issued.secret)
                printError("key \(issued.record.id) (\(issued.record.scope.summary)) — the secret above is shown only now")
            }
        }
    }
}

struct KeysListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List keys (ids, names, scopes, dates; never secrets).")

    @OptionGroup var store: StoreOptions

    func run() async throws {
        try await reportingFailures {
            let memory = try await store.open(readOnly: true)
            let keys = try await memory.keys()
            await memory.close()
            let widths = [-17, -12, -40, -25, -10]
            print(TextTable.row(["id", "name", "scope", "last used", "state"], widths: widths))
            let now = Date()
            for key in keys {
                let state = key.revokedAt != nil ? "revoked" : (key.isValid(at: now) ? "active" : "expired")
                print(
                    TextTable.row(
                        [key.id, key.name, key.scope.summary, key.lastUsedAt.map(EpisodeTime.rfc3339) ?? "never", state], widths: widths))
            }
        }
    }
}

struct KeysRevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke a key at once (every server sees it on its next request).")

    @OptionGroup var store: StoreOptions

    @Argument(help: "The key's id (from `keys list`).")
    var id: String

    func run() async throws {
        try await reportingFailures {
            let memory = try await store.open()
            do { try await memory.revokeKey(id: id) } catch let error as APIKeyError {
                throw Failure(message: error.description, status: ExitStatus.noInput)
            }
            await memory.close()
            print("revoked \(id)")
        }
    }
}
