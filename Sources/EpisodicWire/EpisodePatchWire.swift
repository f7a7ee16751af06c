import EpisodicMemory

/// The JSON of an ``EpisodePatch`` (`PATCH /agents/{agent_id}/episodes/{id}`):
/// `{"content"?, "summary"? (null removes it), "metadata"?, "metadata_mode"?: "merge" | "replace"}`.
/// With `merge` (the default) the given top-level keys are set and a key given `null` is
/// removed; with `replace` the object becomes the metadata.
public enum EpisodePatchWire {
    public static let fields: Set<String> = ["content", "summary", "metadata", "metadata_mode"]

    public static func patch(from object: WireObject) throws(WireError) -> EpisodePatch {
        try object.allowOnly(fields)
        var patch = EpisodePatch()
        patch.content = try object.string("content")
        if let summary = object.fields["summary"] {
            if summary.isNull {
                patch.summary = .some(nil)
            } else {
                guard let text = summary.stringValue else { throw WireError("\"summary\" must be a string or null, got \(summary.kind)") }
                patch.summary = .some(text)
            }
        }
        patch.metadata = try object.object("metadata")
        if let mode = try object.string("metadata_mode") {
            guard let value = EpisodePatch.MetadataMode(rawValue: mode) else {
                throw WireError("\"metadata_mode\" must be merge or replace, got \(mode.prefix(64))")
            }
            patch.metadataMode = value
        }
        guard !patch.isEmpty else { throw WireError("nothing to change: give content, summary or metadata") }
        return patch
    }
}
