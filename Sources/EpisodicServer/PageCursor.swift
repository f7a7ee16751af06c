import EpisodicMemory
import Foundation

/// Opaque page cursors: base64url of the last episode's creation time (milliseconds) and id.
enum PageCursor {
    static func encode(_ position: PagePosition) -> String {
        let text = "\(EpisodeTime.milliseconds(of: position.createdAt))|\(position.id)"
        return Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ cursor: String) throws -> PagePosition {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8),
            let bar = text.firstIndex(of: "|"), let ms = Int64(text[..<bar]),
            ms >= EpisodeTime.earliestMilliseconds, ms <= EpisodeTime.latestMilliseconds
        else {
            throw APIError.invalid("cursor is not one this server issued")
        }
        return PagePosition(createdAt: EpisodeTime.date(milliseconds: ms), id: String(text[text.index(after: bar)...]))
    }
}
