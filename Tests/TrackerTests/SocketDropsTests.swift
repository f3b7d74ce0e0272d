import BeaconTestSupport
import NIOCore
import NIOPosix
import Testing
@testable import TrackerService

/// The kernel's drop count for a real socket that is not read: what
/// beacon_tracker_udp_socket_drops shows when the tracker falls behind.
@Suite struct SocketDropsTests {
    @Test func countsWhatTheKernelDroppedForTheSocket() async throws {
        // Bound, never read, with a tiny receive buffer: the kernel must drop.
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.autoRead, value: false)
            .channelOption(.socketOption(.so_rcvbuf), value: 4_096)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(channel.localAddress?.port)
        let drops = await SocketDrops.probe(channel: channel, port: port)
        // This machine's kernel offers one of the two; a sandbox without either fails here, on purpose.
        let source = try #require(drops.source, "no drop count for UDP sockets on this kernel")
        #expect(await drops.read() == 0)

        let sender = try UDPSocket()
        let sent = 2_000
        for _ in 0..<sent { try sender.send(Array(repeating: UInt8(ascii: "x"), count: 500), to: port) }
        let dropped = try #require(await drops.read())
        print("socket drops: \(dropped) of \(sent) via \(source.rawValue)")
        #expect(dropped > 0)
        #expect(dropped <= sent)
        // The two sources agree where both exist.
        if source == .socketOption, let table = ProcNetUDP.drops(port: port) { #expect(table == dropped) }
        try await channel.close()
    }
}
