import Foundation
import Glibc

/// One TCP connection to 127.0.0.1 driven byte by byte, for what an HTTP
/// client library will not do: send half a request and stall, or watch
/// whether (and when) the server closed the connection.
public final class RawConnection: @unchecked Sendable {
    public struct Failed: Error, CustomStringConvertible {
        public let description: String
    }

    private let fd: Int32
    private var received: [UInt8] = []
    private var closedByPeer = false

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

    deinit {
        Glibc.close(fd)
    }
}
