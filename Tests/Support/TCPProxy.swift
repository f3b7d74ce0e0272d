import NIOCore
import NIOPosix
import Glibc
import Synchronization

/// A TCP proxy on 127.0.0.1 that a test can pause: `pause()` closes every
/// connection and stops listening (clients see a broker go away: reset
/// connections, then refused ones), `resume()` listens again on the same
/// port. Used in front of a Kafka broker that advertises the proxy's port,
/// so that every client connection goes through it.
public final class TCPProxy: Sendable {
    public let port: Int
    private let target: Int
    private let group: MultiThreadedEventLoopGroup
    private let state = Mutex<(server: (any Channel)?, connections: [ObjectIdentifier: any Channel])>((nil, [:]))

    public init(port: Int = FreePort.next(), target: Int) {
        self.port = port
        self.target = target
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    /// Starts listening (again). The port can stay taken for a moment after a
    /// pause (gVisor, which runs these tests, refuses the bind while sockets
    /// of the earlier listener are still closing, SO_REUSEADDR or not), so a
    /// bind that finds it in use is retried for up to 10 s.
    public func resume() async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            do {
                try await listen()
                return
            } catch let error as IOError where error.errnoCode == EADDRINUSE && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    private func listen() async throws {
        let target = self.target
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { [self] inbound in
                track(inbound)
                return ClientBootstrap(group: inbound.eventLoop)
                    .channelInitializer { outbound in
                        outbound.pipeline.addHandler(Glue(partner: inbound))
                    }
                    .connect(host: "127.0.0.1", port: target)
                    .flatMap { [self] outbound in
                        track(outbound)
                        return inbound.pipeline.addHandler(Glue(partner: outbound)).flatMap {
                            inbound.setOption(.autoRead, value: true)
                        }
                    }
            }
            .bind(host: "127.0.0.1", port: port).get()
        state.withLock { $0.server = server }
    }

    /// Stops listening and closes every connection, both ways.
    public func pause() async {
        let (server, connections) = state.withLock { state in
            defer { state = (nil, [:]) }
            return (state.server, Array(state.connections.values))
        }
        try? await server?.close()
        for connection in connections { try? await connection.close() }
    }

    public func shutdown() async {
        await pause()
        try? await group.shutdownGracefully()
    }

    private func track(_ channel: any Channel) {
        state.withLock { $0.connections[ObjectIdentifier(channel)] = channel }
        channel.closeFuture.whenComplete { [self] _ in
            _ = state.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(channel)) }
        }
    }
}

/// Copies what one side reads to the other, and closes the other when one closes.
private final class Glue: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let partner: any Channel

    init(partner: any Channel) {
        self.partner = partner
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
