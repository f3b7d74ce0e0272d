import Glibc
import NIOCore

/// The kernel's count of datagrams it dropped for one socket because its
/// receive buffer was full: loss under overload that no handler sees.
/// Linux: the socket's own SK_MEMINFO_DROPS (getsockopt SO_MEMINFO, through
/// NIO's SocketOptionProvider), else the `drops` column of /proc/net/udp for
/// the socket's port. Neither: nil, said once in the log by the listener.
struct SocketDrops: Sendable {
    /// struct sk_meminfo as SO_MEMINFO fills it (linux/sock_diag.h): nine u32,
    /// SK_MEMINFO_DROPS last. Zeroed first, so an older kernel that fills
    /// fewer leaves the drop count 0 rather than garbage.
    private struct MemInfo: Sendable {
        var fields: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0, 0, 0, 0, 0, 0)
        var drops: UInt32 { fields.8 }
    }

    enum Source: String, Sendable {
        case socketOption = "SO_MEMINFO"
        case procNetUDP = "/proc/net/udp"
    }

    /// asm-generic/socket.h; Glibc does not export it to Swift.
    private static let soMemInfo: Int32 = 55

    private let channel: any Channel
    private let port: Int
    let source: Source?

    /// Finds out which source this kernel offers.
    static func probe(channel: any Channel, port: Int) async -> SocketDrops {
        var drops = SocketDrops(channel: channel, port: port, source: .socketOption)
        if await drops.read() != nil { return drops }
        drops = SocketDrops(channel: channel, port: port, source: .procNetUDP)
        if await drops.read() != nil { return drops }
        return SocketDrops(channel: channel, port: port, source: nil)
    }

    private init(channel: any Channel, port: Int, source: Source?) {
        self.channel = channel
        self.port = port
        self.source = source
    }

    /// The count so far; nil when unknown here.
    func read() async -> Int? {
        switch source {
        case .socketOption:
            #if os(Linux)
            guard let provider = channel as? any SocketOptionProvider else { return nil }
            let future: EventLoopFuture<MemInfo> = provider.unsafeGetSocketOption(
                level: SocketOptionLevel(SOL_SOCKET), name: Self.soMemInfo)
            return (try? await future.get()).map { Int($0.drops) }
            #else
            return nil
            #endif
        case .procNetUDP:
            return ProcNetUDP.drops(port: port)
        case nil:
            return nil
        }
    }
}
