import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A plain TCP connection to 127.0.0.1 that sends exactly the bytes it is given: for requests an
/// HTTP client would not send (another `Host`, half a header, a TRACE) and for watching a server
/// close an idle connection. Its waits run on a thread of their own: a test blocked in `poll` on a
/// thread of the cooperative pool would hold up the in-process server it is waiting for.
public final class RawHTTP: @unchecked Sendable {
    private let fd: Int32

    public init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw Failure("connect to 127.0.0.1:\(port) failed")
        }
    }

    deinit { close(fd) }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    public func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure("send failed") }
            sent += n
        }
    }

    /// Reads until the server closes the connection or `seconds` pass; returns what arrived and
    /// whether the server closed it.
    public func readUntilClosed(seconds: Double) async -> (text: String, closed: Bool) {
        await Self.offThePool { self.blockingReadUntilClosed(seconds: seconds) }
    }

    /// Reads one response: until the headers and `Content-Length` bytes of body have arrived.
    public func readResponse(seconds: Double = 10) async -> String {
        await Self.offThePool { self.blockingReadResponse(seconds: seconds) }
    }

    /// Sends one request and reads its response.
    public static func exchange(port: Int, _ request: String) async throws -> String {
        let connection = try RawHTTP(port: port)
        try connection.send(request)
        return await connection.readResponse()
    }

    private static func offThePool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: work()) }
        }
    }

    private func blockingReadUntilClosed(seconds: Double) -> (text: String, closed: Bool) {
        var data = [UInt8]()
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000)))
            if ready <= 0 { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return (String(decoding: data, as: UTF8.self), true) }
            data.append(contentsOf: buffer[0..<n])
        }
        return (String(decoding: data, as: UTF8.self), false)
    }

    private func blockingReadResponse(seconds: Double) -> String {
        var data = [UInt8]()
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            let text = String(decoding: data, as: UTF8.self)
            if let split = text.range(of: "\r\n\r\n") {
                let head = text[..<split.lowerBound].lowercased()
                let length =
                    head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if text[split.upperBound...].utf8.count >= length { return text }
            }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, 100) <= 0 { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: data, as: UTF8.self)
    }
}
