import EpisodicMemory
import Foundation

/// Opaque page cursors: base64url of the listing's order, the last episode's date in that order
/// (milliseconds) and its id. A cursor of one order is refused by a listing in the other.
enum PageCursor {
    static func encode(_ position: PagePosition, order: EpisodeOrder = .createdAt) -> String {
        let text = (order == .createdAt ? "" : "u") + "\(EpisodeTime.milliseconds(of: position.date))|\(position.id)"
        return Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ cursor: String, order: EpisodeOrder = .createdAt) throws -> PagePosition {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), var text = String(data: data, encoding: .utf8) else {
            throw APIError.invalid("cursor is not one this server issued")
        }
        let cursorOrder: EpisodeOrder = text.hasPrefix("u") ? .updatedAt : .createdAt
        if cursorOrder == .updatedAt { text.removeFirst() }
        guard cursorOrder == order else { throw APIError.invalid("cursor belongs to a listing ordered by \(cursorOrder.rawValue)") }
        guard let bar = text.firstIndex(of: "|"), let ms = Int64(text[..<bar]),
            ms >= EpisodeTime.earliestMilliseconds, ms <= EpisodeTime.latestMilliseconds
        else {
            throw APIError.invalid("cursor is not one this server issued")
        }
        return PagePosition(date: EpisodeTime.date(milliseconds: ms), id: String(text[text.index(after: bar)...]))
    }
}
