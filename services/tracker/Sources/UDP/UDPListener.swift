import BeaconCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The UDP intake's socket, next to the HTTP server: datagrams are read in
/// batches (NIO's vector reads, recvmmsg on Linux) into `DatagramIntake`.
/// A part of the tracker's service group: on SIGTERM it closes the socket,
/// and the writer, which stops after it, stores what it queued.
struct UDPListener: Service {
    struct Settings: Sendable {
        var host: String
        /// 0: no UDP intake.
        var port: Int
        /// SO_RCVBUF: what the kernel holds while the tracker is busy (Linux caps it at net.core.rmem_max, then doubles it).
        var receiveBufferBytes: Int
    }

    /// Datagrams one recvmmsg reads at most.
    static let datagramsPerRead = 64
    /// Each datagram's slot in the read buffer: more than the largest UDP
    /// payload (65,507 bytes over IPv4, 65,527 over IPv6), so that none is
    /// ever cut short and an oversized event is seen whole (and refused as such).
    static let datagramSlotBytes = 65_536
    /// How often the kernel's drop count is read into the gauge.
    static let dropsRefresh: Duration = .seconds(1)

    let settings: Settings
    let intake: DatagramIntake
    let ready: ReadinessCondition
    let logger: Logger

    func run() async throws {
        let intake = intake, logger = logger
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(settings.receiveBufferBytes))
            .channelOption(.datagramVectorReadMessageCount, value: Self.datagramsPerRead)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: Self.datagramsPerRead * Self.datagramSlotBytes))
            .channelOption(.maxMessagesPerRead, value: 16)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DatagramHandler(intake: intake, logger: logger))
                }
            }
            .bind(host: settings.host, port: settings.port).get()
        let port = channel.localAddress?.port ?? settings.port
        let receiveBuffer = try? await channel.getOption(.socketOption(.so_rcvbuf)).get()
        let drops = await SocketDrops.probe(channel: channel, port: port)
        logger.info("udp intake listening", metadata: [
            "address": "\(settings.host):\(port)", "receiveBufferBytes": "\(receiveBuffer.map(String.init) ?? "?")",
            "socketDrops": "\(drops.source?.rawValue ?? "unknown")",
        ])
        if drops.source == nil {
            logger.warning("udp intake: this kernel offers no drop count for the socket (neither SO_MEMINFO nor /proc/net/udp); beacon_tracker_udp_socket_drops stays -1 and loss under overload is not counted")
        }
        ready.ready()
        // Until SIGTERM (or cancellation): keep the drop gauge fresh.
        try? await cancelWhenGracefulShutdown {
            while true {
                await Self.record(drops, into: intake.metrics)
                try await Task.sleep(for: Self.dropsRefresh)
            }
        }
        ready.notReady("stopping")
        await Self.record(drops, into: intake.metrics)
        try? await channel.close()
        logger.info("udp intake stopped")
    }

    private static func record(_ drops: SocketDrops, into metrics: TrackerMetrics) async {
        metrics.udpSocketDrops.record(await drops.read() ?? -1)
    }
}
