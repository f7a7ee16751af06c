import ArgumentParser
import CommandSupport
import EpisodicMemory
import Foundation

/// `episodic models …`: what is installed, whether it is intact, and fetching more.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List, verify and fetch embedding models.",
        discussion: "Models live in $EPISODIC_MODELS (default ~/.cache/episodic/models).",
        subcommands: [ListModels.self, VerifyModels.self, FetchModel.self])

    struct ListModels: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "The catalog and the installed model directories.",
            discussion: "Example:\n  episodic models list --json")

        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            try await reportingFailures {
                let root = ModelsFolder.default
                var rows: [[String: Any]] = []
                var seen = Set<String>()
                for model in ModelCatalog.all {
                    seen.insert(model.directoryName)
                    let installed = (try? ModelDirectory(url: root.appendingPathComponent(model.directoryName))) != nil
                    rows.append([
                        "name": model.directoryName, "id": model.id, "dimension": model.dimension,
                        "pooling": model.pooling.rawValue, "bundled": model.bundled, "installed": installed,
                    ])
                }
                let others = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
                for name in others.sorted() where !name.hasPrefix(".") && !seen.contains(name) {
                    if let directory = try? ModelDirectory(url: root.appendingPathComponent(name)) {
                        rows.append([
                            "name": name, "id": name, "dimension": directory.dimension,
                            "pooling": directory.pooling.rawValue, "bundled": false, "installed": true,
                        ])
                    }
                }
                if json { print(JSONText.of(["models_root": root.path, "models": rows], pretty: true)); return }
                print("models in \(root.path)")
                print(TextTable.row(["name", "dim", "pooling", "installed", "id"], widths: [-24, 5, -8, -10, -40]))
                for row in rows {
                    print(
                        TextTable.row(
                            [
                                "\(row["name"]!)", "\(row["dimension"]!)", "\(row["pooling"]!)",
                                (row["installed"] as! Bool) ? "yes" : ((row["bundled"] as! Bool) ? "no (setup)" : "no (fetch)"),
                                "\(row["id"]!)",
                            ], widths: [-24, 5, -8, -10, -40]))
                }
            }
        }
    }

    struct VerifyModels: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check installed models: configuration, tokenizer, weights header and sha256.",
            discussion: """
                Exit status 65 when a model is damaged, 66 when a named model is not installed.

                Example:
                  episodic models verify all-MiniLM-L6-v2
                """)

        @Argument(help: "Model names (default: every installed model).")
        var names: [String] = []

        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            try await reportingFailures {
                let root = ModelsFolder.default
                var targets = names
                if targets.isEmpty {
                    targets = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [])
                        .filter { !$0.hasPrefix(".") }.sorted()
                }
                var results: [[String: Any]] = []
                var damaged = false, missing = false
                for name in targets {
                    let url =
                        name.contains("/") && FileManager.default.fileExists(atPath: name)
                        ? URL(fileURLWithPath: name)
                        : root.appendingPathComponent(ModelCatalog.model(named: name)?.directoryName ?? name)
                    var result: [String: Any] = ["name": name, "path": url.path]
                    do {
                        let directory = try ModelDirectory(url: url)
                        _ = try WordPieceTokenizer(contentsOf: directory.tokenizerURL)
                        _ = try SafetensorsFile(url: directory.weightsURL)
                        let sha = try ModelFingerprint.sha256(ofFile: directory.weightsURL)
                        result["sha256"] = sha
                        result["dimension"] = directory.dimension
                        if let expected = ModelCatalog.model(named: url.lastPathComponent)?.sha256, expected != sha {
                            result["status"] = "sha256 differs from the catalog's \(expected)"
                            damaged = true
                        } else {
                            result["status"] = "ok"
                        }
                    } catch EmbeddingError.modelDirectoryNotFound {
                        result["status"] = "not installed"
                        missing = true
                    } catch {
                        result["status"] = "\(error)"
                        damaged = true
                    }
                    results.append(result)
                }
                if json {
                    print(JSONText.of(["models": results], pretty: true))
                } else {
                    for r in results {
                        print("\(r["name"]!): \(r["status"]!)" + ((r["sha256"] as? String).map { " (sha256 \($0.prefix(12))…)" } ?? ""))
                    }
                }
                if damaged { throw ExitCode(ExitStatus.dataError) }
                if missing { throw ExitCode(ExitStatus.noInput) }
            }
        }
    }

    struct FetchModel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fetch",
            abstract: "Download a model directory from the Hugging Face hub.",
            discussion: """
                Fetches the files a sentence-transformers directory needs, checks each against the \
                hub's sha256 (or git sha1), resumes interrupted downloads, and installs the directory \
                in one rename. Needs internet (or --endpoint for a mirror); HF_TOKEN is sent when set.

                Example:
                  episodic models fetch BAAI/bge-small-en-v1.5
                """)

        @Argument(help: "The repository id, e.g. BAAI/bge-small-en-v1.5.")
        var repository: String

        @Option(help: "Branch, tag or commit.")
        var revision = "main"

        @Option(help: "Hub endpoint (a mirror).")
        var endpoint = "https://huggingface.co"

        @Flag(help: "Replace an installed directory.")
        var force = false

        func run() async throws {
            try await reportingFailures {
                guard let base = URL(string: endpoint), base.scheme != nil else {
                    throw Failure(message: "--endpoint must be a URL", status: ExitStatus.dataError)
                }
                // Before any network or disk work: a name such as "a/b/../.." must never address a folder.
                try ModelFetcher.validate(repositoryID: repository)
                let root = ModelsFolder.default
                try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
                let progress = ProgressReporter("fetching", total: nil)
                do {
                    let url = try await ModelFetcher(endpoint: base, revision: revision).fetch(
                        repository: repository, into: root, force: force
                    ) { file, done, total in
                        progress.update(Int(done / 1024), note: "KiB of \(file) (\(total / 1024) KiB)")
                    }
                    progress.finish()
                    let model = try ModelDirectory(url: url)
                    print("installed \(repository) in \(url.path): \(model.dimension) dimensions, \(model.pooling.rawValue) pooling")
                } catch let error as ModelFetchError {
                    progress.finish()
                    switch error {
                    case .repositoryNotFound, .alreadyInstalled: throw Failure(message: error.description, status: ExitStatus.dataError)
                    case .checksumMismatch, .invalidListing, .noSafetensors:
                        throw Failure(message: error.description, status: ExitStatus.dataError)
                    case .network, .httpStatus: throw Failure(message: error.description, status: ExitStatus.unavailable)
                    case .invalidRepositoryID, .pathOutsideModelsFolder:
                        throw Failure(message: error.description, status: ExitStatus.dataError)
                    }
                }
            }
        }
    }
}
