import Foundation

/// The folder that holds model directories (`<folder>/<model name>`), as `scripts/setup.sh`
/// installs them and `episodic models fetch` adds to: `$EPISODIC_MODELS`, else
/// `~/.cache/episodic/models`. The one definition of that default.
public enum ModelsFolder {
    /// `$EPISODIC_MODELS`, or `~/.cache/episodic/models`.
    public static var `default`: URL {
        if let path = ProcessInfo.processInfo.environment["EPISODIC_MODELS"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/episodic/models")
    }

    /// The directory of a model under `folder`: a path as given, else the directory named by the
    /// catalog entry or by the last component of a Hugging Face id (`BAAI/bge-small-en-v1.5` →
    /// `bge-small-en-v1.5`).
    public static func directory(of model: String, in folder: URL = ModelsFolder.default) -> URL {
        if model.hasPrefix("/") || model.hasPrefix("./") || model.hasPrefix("../") { return URL(fileURLWithPath: model) }
        if let known = ModelCatalog.model(named: model) { return folder.appendingPathComponent(known.directoryName) }
        return folder.appendingPathComponent(String(model.split(separator: "/").last ?? Substring(model)))
    }
}
