/// A request or import line that does not have the documented shape; the message names the field.
public struct WireError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    /// Whether the input is well formed but over a size limit (HTTP 413 rather than 400).
    public var isTooLarge: Bool

    public init(_ message: String, tooLarge: Bool = false) {
        self.message = message
        isTooLarge = tooLarge
    }

    public var description: String { message }
}
