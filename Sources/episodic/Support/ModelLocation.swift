import Foundation

/// Where the bundled models live, as scripts/setup.sh installs them.
enum ModelLocation {
    /// `$EPISODIC_MODELS`, or `~/.cache/episodic/models`.
    static var root: URL {
        if let path = ProcessInfo.processInfo.environment["EPISODIC_MODELS"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/episodic/models")
    }

    /// The default fast (384-dim) model.
    static var fastModel: URL { root.appendingPathComponent("all-MiniLM-L6-v2") }
    /// The default quality model available offline.
    static var qualityModel: URL { root.appendingPathComponent("all-mpnet-base-v2") }

    /// A `--model` argument: a path, or the name of a directory under ``root``.
    static func resolve(_ argument: String?) -> URL {
        guard let argument else { return fastModel }
        let url = URL(fileURLWithPath: argument)
        if FileManager.default.fileExists(atPath: url.path) || argument.contains("/") { return url }
        return root.appendingPathComponent(argument)
    }
}
