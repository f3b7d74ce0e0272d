import NIOCore

/// First handler of every accepted connection: takes a place in the
/// `ConnectionLimit` when the connection becomes active, and closes it at
/// once when there is none, before any byte of it is read or parsed. Plain
/// NIO, so that any HTTP pipeline (Hummingbird's or a lean NIOHTTP1 one) can
/// put it first.
final class ConnectionLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let limit: ConnectionLimit
    private var admitted = false

    init(limit: ConnectionLimit) {
        self.limit = limit
    }

    func channelActive(context: ChannelHandlerContext) {
        guard limit.admit() else {
            // Not passed on: nothing further down starts work for it.
            context.close(promise: nil)
            return
        }
        admitted = true
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if admitted {
            admitted = false
            limit.release()
        }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if admitted {
            admitted = false
            limit.release()
        }
    }
}
