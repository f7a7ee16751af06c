import EpisodicMemory
import Foundation
import GRDB
import TestSupport
import Testing

/// Regression tests of the hardening issue through the CLI as a process, on real SQLite files.
@Suite struct HardeningCommandTests {
    func initStore(_ db: String) async throws {
        let created = try await CLIRunner.run([
            "--db", db, "init", "--fast-model", "tiny", "--fast-dim", "4", "--quality-model", "tinyq", "--quality-dim", "6",
        ])
        #expect(created.status == 0, "\(created.stderr)")
    }

    /// Items 1 and 3 at the `import` door: the same rules as HTTP, each bad line named.
    @Test func importRefusesFarDatesAndNULAndAGetOfADamagedRowDoesNotCrash() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let db = tmp.path("m.sqlite")
        try await initStore(db)
        let lines = [
            #"{"id": "far", "agent_id": "a", "content": "x", "created_at": 253402300800, "vectors": {"vector_fastembed": [1, 0, 0, 0]}}"#,
            #"{"id": "nul", "agent_id": "a", "content": "before\u0000after", "vectors": {"vector_fastembed": [1, 0, 0, 0]}}"#,
            #"{"id": "ok", "agent_id": "a", "content": "fine", "created_at": 253402300799, "vectors": {"vector_fastembed": [1, 0, 0, 0]}}"#,
        ]
        let file = tmp.url.appendingPathComponent("in.jsonl")
        try Data(lines.joined(separator: "\n").utf8).write(to: file)
        let result = try await CLIRunner.run(["--db", db, "import", file.path, "--quality", "defer"])
        #expect(result.status == 65)
        #expect(
            result.stderr.contains("line 1: \"created_at\": 253402300800 Unix seconds is outside 0001-01-01T00:00:00Z"), "\(result.stderr)")
        #expect(result.stderr.contains("line 2: episode nul: content contains a NUL character"), "\(result.stderr)")
        #expect(result.stdout.contains("imported 1 episodes"))
        let ok = try await CLIRunner.run(["--db", db, "get", "--agent", "a", "ok"])
        #expect(ok.status == 0 && ok.stdout.contains("9999-12-31T23:59:59.000Z"))
        // A row another program damaged: get reports it (exit 65), the process does not trap.
        let queue = try DatabaseQueue(path: db)
        try await queue.write { db in try db.execute(sql: "UPDATE episodes SET created_at = '10000-01-01 00:00:00.000' WHERE id = 'ok'") }
        try queue.close()
        let damaged = try await CLIRunner.run(["--db", db, "get", "--agent", "a", "ok"])
        #expect(damaged.status == 65 && damaged.stderr.contains("episode ok cannot be read"), "\(damaged.status) \(damaged.stderr)")
        #expect(try await CLIRunner.run(["--db", db, "stats"]).status == 0)
    }

    /// Item 2: `models fetch` validates the name before any network or disk work and never
    /// deletes outside the models folder.
    @Test func modelsFetchNeverTouchesAnythingOutsideTheModelsFolder() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let parent = tmp.url.appendingPathComponent("p")
        let models = parent.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: models.appendingPathComponent("installed-model"), withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: parent.appendingPathComponent("precious.txt"))
        try Data("{}".utf8).write(to: models.appendingPathComponent("installed-model/config.json"))
        for name in ["BAAI/bge-small-en-v1.5/x/..", "", "..", "a/..", "../x", "a/b/c", "owner/.hidden", "owner/na me", "owner/name/"] {
            let result = try await CLIRunner.run(
                ["models", "fetch", name, "--force", "--endpoint", "http://127.0.0.1:9"],
                environment: ["EPISODIC_MODELS": models.path])
            #expect(
                result.status == 65 && result.stderr.contains("not a Hugging Face repository id"),
                "\(name.debugDescription): \(result.status) \(result.stderr)")
        }
        #expect(FileManager.default.contents(atPath: parent.appendingPathComponent("precious.txt").path) == Data("keep me".utf8))
        #expect(FileManager.default.fileExists(atPath: models.appendingPathComponent("installed-model/config.json").path))
        // A well-formed name goes on to the (unreachable) network and fails there: 69, nothing deleted.
        let unreachable = try await CLIRunner.run(
            ["models", "fetch", "owner/installed-model", "--force", "--endpoint", "http://127.0.0.1:9"],
            environment: ["EPISODIC_MODELS": models.path])
        #expect(unreachable.status == 69, "\(unreachable.stderr)")
        #expect(FileManager.default.fileExists(atPath: models.appendingPathComponent("installed-model/config.json").path))
    }

    /// Item 8: another program's SQLite file is refused unchanged, with its own exit status.
    @Test func aForeignSQLiteFileIsRefusedUnchanged() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let db = tmp.path("theirs.sqlite")
        let queue = try DatabaseQueue(path: db)
        try await queue.write { db in
            try db.execute(sql: "CREATE TABLE episodes(id TEXT PRIMARY KEY, body TEXT); INSERT INTO episodes VALUES ('1', 'theirs')")
        }
        try queue.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: db))
        for command in [["stats"], ["get", "--agent", "a", "1"], ["migrate"], ["serve", "--port", "0"]] {
            let result = try await CLIRunner.run(["--db", db] + command)
            #expect(result.status == 65 && result.stderr.contains("a database of another program"), "\(command): \(result.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == before)
        let tables = try await DatabaseQueue(path: db).read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master ORDER BY name")
        }
        #expect(tables == ["episodes", "sqlite_autoindex_episodes_1"])
    }

    /// Item 9: `migrate` on a store written by a newer episodic says so and writes nothing.
    @Test func migrateOnANewerStoreWritesNothing() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let db = tmp.path("m.sqlite")
        try await initStore(db)
        let queue = try DatabaseQueue(path: db)
        try await queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations(identifier) VALUES ('v99_from_the_future')") }
        try await queue.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        try queue.close()
        let before = ["", "-wal"].map { FileManager.default.contents(atPath: db + $0) ?? Data() }
        for command in [["migrate"], ["migrate", "--to", "v1_initial_schema"], ["stats"], ["add", "--agent", "a", "--text", "x"]] {
            let result = try await CLIRunner.run(["--db", db] + command)
            #expect(result.status == 69 && result.stderr.contains("newer version of episodic"), "\(command): \(result.stderr)")
        }
        // Checkpoint (as the issue's probe did) and compare: unchanged.
        let after = try DatabaseQueue(
            path: db,
            configuration: {
                var c = Configuration(); c.readonly = true; return c
            }())
        try after.close()
        #expect(["", "-wal"].map { FileManager.default.contents(atPath: db + $0) ?? Data() } == before)
    }

    /// Item 10: a store the process cannot write still reads; a folder or a missing folder is a
    /// clear error with the documented exit status.
    @Test func readOnlyFilesDirectoriesAndMissingFolders() async throws {
        let tmp = try TemporaryDirectory()
        defer {
            try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tmp.url.path)
            tmp.remove()
        }
        let db = tmp.path("m.sqlite")
        try await initStore(db)
        let added = try await CLIRunner.run(
            ["--db", db, "import", "-"],
            stdin:
                #"{"id": "k", "agent_id": "a", "content": "kept", "vectors": {"vector_fastembed": [1, 0, 0, 0], "vector": [1, 0, 0, 0, 0, 0]}}"#
        )
        #expect(added.status == 0, "\(added.stderr)")
        // Read-only for everyone (root included: the commands run as `nobody` then).
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: db)
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + suffix) }
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: tmp.url.path)
        let stats = try await CLIRunner.runUnprivileged(["--db", db, "stats", "--json"])
        #expect(stats.status == 0 && stats.stdout.contains("\"episodes\":1"), "\(stats.status) \(stats.stderr)")
        let get = try await CLIRunner.runUnprivileged(["--db", db, "get", "--agent", "a", "k"])
        #expect(get.status == 0 && get.stdout.contains("kept"), "\(get.stderr)")
        let vectorDirectory = try TemporaryDirectory()
        defer { vectorDirectory.remove() }
        let vectorFile = vectorDirectory.path("q.json")
        try Data("[1, 0, 0, 0]".utf8).write(to: URL(fileURLWithPath: vectorFile))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: vectorDirectory.url.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: vectorFile)
        let search = try await CLIRunner.runUnprivileged(["--db", db, "search", "--agent", "a", "--vector-file", vectorFile])
        #expect(search.status == 0 && search.stdout.contains("1 results"), "\(search.stderr)")
        let write = try await CLIRunner.runUnprivileged(["--db", db, "delete", "--agent", "a", "k"])
        #expect(write.status == 69 && write.stderr.contains("read-only"), "\(write.status) \(write.stderr)")
        // A folder, and a file in a folder that does not exist.
        let folder = try await CLIRunner.run(["--db", tmp.url.path, "stats"])
        #expect(folder.status == 65 && folder.stderr.contains("is not an episode store"), "\(folder.stderr)")
        let orphan = try await CLIRunner.run(["--db", tmp.path("no/such/m.sqlite"), "serve", "--port", "0"])
        #expect(orphan.status == 66 && orphan.stderr.contains("no episode store at"), "\(orphan.stderr)")
    }
}
