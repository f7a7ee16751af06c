import Foundation
import Synchronization

/// Progress of a long command on standard error: a redrawn bar (count, rate, ETA) on a terminal,
/// plain lines otherwise (logs, pipes, tests).
public final class ProgressReporter: Sendable {
    private let label: String
    private let total: Int?
    private let start = Date()
    private let interactive = isatty(STDERR_FILENO) != 0
    private let lastDraw = Mutex(Date.distantPast)

    public init(_ label: String, total: Int? = nil) {
        self.label = label
        self.total = total
    }

    /// Reports `done` items (and a note such as the count of bad lines).
    public func update(_ done: Int, note: String = "", force: Bool = false) {
        let now = Date()
        let skip = lastDraw.withLock { last -> Bool in
            if interactive && !force && now.timeIntervalSince(last) < 0.1 { return true }
            last = now
            return false
        }
        if skip { return }
        let elapsed = max(now.timeIntervalSince(start), 1e-6)
        let rate = Double(done) / elapsed
        var text = "\(label) \(done)"
        if let total, total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            if interactive {
                let width = 24
                let filled = Int(fraction * Double(width))
                text =
                    "\(label) [\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(done)/\(total)"
            } else {
                text += "/\(total)"
            }
            if rate > 0 && done < total { text += String(format: ", ETA %.0fs", Double(total - done) / rate) }
        }
        text += String(format: ", %.0f/s", rate)
        if !note.isEmpty { text += ", \(note)" }
        if interactive {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
        } else {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    /// Ends the bar's line on a terminal.
    public func finish() {
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
