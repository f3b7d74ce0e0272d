import Foundation
import Glibc

/// One TCP connection to 127.0.0.1 driven byte by byte, for what an HTTP
/// client library will not do: send half a request and stall, pipeline
/// several requests in one write, or watch whether (and when) the server
/// closed the connection.
public final class RawConnection: @unchecked Sendable {
    public struct Failed: Error, CustomStringConvertible {
        public let description: String
    }

    private let fd: Int32
    private var received: [UInt8] = []
    private var closedByPeer = false
    /// How much of `received` `readResponse` has handed out.
    private var consumed = 0

    public init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failed(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
        }
        guard result == 0 else {
            let error = errno
            Glibc.close(fd)
            throw Failed(description: "connect to \(port): errno \(error)")
        }
    }

    public func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failed(description: "send: errno \(errno)") }
            sent += n
        }
    }

    /// Reads what has arrived without waiting; true once the server closed
    /// (end of stream or reset).
    public func isClosed() -> Bool {
        guard !closedByPeer else { return true }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 {
                received += buffer[0..<n]
                continue
            }
            if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                closedByPeer = true
            }
            return closedByPeer
        }
    }

    /// Everything the server sent so far.
    public var text: String {
        _ = isClosed()
        return String(decoding: received, as: UTF8.self)
    }

    /// Whether a whole response has arrived (headers and a Content-Length body).
    public var hasResponse: Bool {
        let text = self.text
        guard let end = text.range(of: "\r\n\r\n") else { return false }
        let length = text[..<end.lowerBound].split(separator: "\r\n")
            .first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        return text[end.upperBound...].utf8.count >= length
    }

    /// One response as `readResponse` parsed it.
    public struct Response {
        public let status: Int
        /// Lower-cased names.
        public let headers: [String: String]
        public let body: String
    }

    /// A request's text, with a Content-Length for `body`.
    public static func request(_ method: String, _ path: String, headers: [String: String] = [:], body: String = "") -> String {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { text += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { text += "Content-Length: \(body.utf8.count)\r\n" }
        return text + "\r\n" + body
    }

    /// The next whole response (framed by Content-Length), waiting up to
    /// `timeout` for it; in the order the server sent them.
    public func readResponse(timeout: Duration = .seconds(15)) throws -> Response {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let response = nextResponse() { return response }
            guard !closedByPeer else { throw Failed(description: "closed before a whole response: \(text)") }
            let left = deadline - .now
            guard left > .zero else { throw Failed(description: "no whole response in \(timeout)") }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&poller, 1, Int32(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            _ = isClosed()
        }
    }

    private func nextResponse() -> Response? {
        let rest = received[consumed...]
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = rest.indices.first(where: { rest[$0...].starts(with: separator) }) else { return nil }
        let lines = String(decoding: received[consumed..<end], as: UTF8.self).components(separatedBy: "\r\n")
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let bodyStart = end + 4, length = Int(headers["content-length"] ?? "0") ?? 0
        guard received.count - bodyStart >= length else { return nil }
        consumed = bodyStart + length
        let status = lines.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        return Response(status: status, headers: headers, body: String(decoding: received[bodyStart..<consumed], as: UTF8.self))
    }

    deinit {
        Glibc.close(fd)
    }
}
