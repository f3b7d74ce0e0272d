import Foundation
import Glibc
import Synchronization

/// A TCP port on 127.0.0.1 that nobody listens on right now, below the
/// kernel's ephemeral range: a port the kernel hands out (port 0) can be
/// taken by any outgoing connection's local end before the test binds it,
/// or while a test has a listener closed (a broker outage) and binds again.
/// Ports are not handed out twice by one test process.
public enum FreePort {
    private static let handedOut = Mutex<Set<Int>>([])

    public static func next() -> Int {
        let (low, _) = ephemeralRange()
        let candidates = 10_000..<max(10_001, low)
        for _ in 0..<1_000 {
            let port = Int.random(in: candidates)
            let fresh = handedOut.withLock { $0.insert(port).inserted }
            if fresh, canBind(port) { return port }
        }
        fatalError("FreePort: no free port in \(candidates)")
    }

    /// /proc/sys/net/ipv4/ip_local_port_range (32768 60999 on Linux by default).
    static func ephemeralRange() -> (Int, Int) {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let fields = text.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        return fields.count == 2 ? (fields[0], fields[1]) : (32_768, 60_999)
    }

    private static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } } == 0
    }
}
