import ArgumentParser
import Foundation
import Logging

extension AsyncParsableCommand {
    /// The `main` of a command-line tool of this package: logs to standard error (standard output
    /// carries data) at the level of `$EPISODIC_LOG_LEVEL` (trace, debug, info, notice, warning,
    /// error, critical; default warning), then parses and runs the command.
    public static func runAsTool() async {
        let level = ProcessInfo.processInfo.environment["EPISODIC_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
