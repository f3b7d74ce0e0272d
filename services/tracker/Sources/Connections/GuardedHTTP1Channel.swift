import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Hummingbird's HTTP/1 child channel with the tracker's connection bounds
/// put into its pipeline: `ConnectionLimitHandler` first, and
/// `RequestTimeoutHandler` right after NIOHTTP1's request decoder (before
/// Hummingbird turns parts into HTTPTypes), so that both stay plain NIO.
/// Hummingbird's own idle timeout is left off: the timeout handler owns it.
/// For the memory an idle connection keeps: smaller receive buffers
/// (`ReceiveBuffers`) and each request answered in a task of its own
/// (`RequestInOwnTask`).
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    let limit: ConnectionLimit
    let timeouts: ConnectionTimeouts
    /// Goes right after the timeouts, on NIOHTTP1's parts: the intake.
    let handlers: @Sendable () -> [any ChannelHandler]

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            try channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: ReceiveBuffers.allocator)
            try channel.pipeline.syncOperations.addHandler(ConnectionLimitHandler(limit: limit), position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        let timeouts = self.timeouts, handlers = self.handlers
        let observer = limit.observer
        return http1.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            let timeout = RequestTimeoutHandler(timeouts: timeouts, observer: observer)
            try pipeline.addHandler(timeout, position: .after(decoder))
            try pipeline.addHandlers(handlers(), position: .after(timeout))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 with the connection limit and the timeouts of `bounds`;
    /// `handlers` go right after the timeouts, on NIOHTTP1's parts.
    static func guardedHTTP1(
        _ bounds: ConnectionBounds, observer: any ConnectionObserver, handlers: @escaping @Sendable () -> [any ChannelHandler]
    ) -> HTTPServerBuilder {
        let limit = ConnectionLimit(maximum: bounds.maxConnections, observer: observer)
        return HTTPServerBuilder { responder in
            GuardedHTTP1Channel(
                http1: HTTP1Channel(
                    responder: RequestInOwnTask.responder(responder),
                    configuration: .init(idleTimeout: nil)),
                limit: limit,
                timeouts: bounds.timeouts,
                handlers: handlers)
        }
    }
}
