import FuzzDriver
import EpisodicMemory
import EpisodicWire

/// Any bytes as an HTTP body and as an `import` line: refused with an error or accepted; what is
/// accepted and passes the store's rules writes back as JSON that reads back to the same episode.
@_cdecl("FuzzEpisodeJSON_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { data, size in fuzz(data!, size) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    for agent in ["a", nil] as [String?] {
        guard let object = try? WireObject.parse(bytes, context: "body"),
            let item = try? EpisodeWire.episode(from: object, agentID: agent)
        else { continue }
        guard (try? EpisodeRules.validate(item.episode, limits: EpisodeLimits())) != nil else { continue }
        let json = EpisodeWire.json(item.episode, vectors: item.vectors)
        let reread = try! JSONParser().parse(json).objectValue!
        let input = try! WireObject(
            .object(reread.filter { !$0.key.hasSuffix("_cached") && !$0.key.hasSuffix("_cached_at") }), context: "again")
        let again = try! EpisodeWire.episode(from: input, agentID: nil)
        precondition(again.episode.id == item.episode.id && again.episode.agentID == item.episode.agentID, "id changed")
        precondition(again.episode.content == item.episode.content && again.episode.summary == item.episode.summary, "text changed")
        precondition(again.episode.metadata == item.episode.metadata, "metadata changed")
        precondition(
            EpisodeTime.milliseconds(of: again.episode.createdAt) == EpisodeTime.milliseconds(of: item.episode.createdAt), "date changed")
        precondition(
            again.vectors.mapValues { $0.map(\.bitPattern) } == item.vectors.mapValues { $0.map(\.bitPattern) }
                || item.vectors.values.contains { $0.contains { !$0.isFinite } }, "vectors changed")
    }
    return 0
}
