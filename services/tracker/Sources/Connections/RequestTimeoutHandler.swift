import NIOCore
import NIOHTTP1

/// Closes a connection whose client stalls, with one timer on the event loop:
///
/// - the head of a request must arrive within `timeouts.head`, counted from
///   connecting, or on a keep-alive connection from the first bytes of the
///   next request (a read that yields no HTTP part yet);
/// - its body within `timeouts.body` of the head (not restarted by each
///   chunk, so a client trickling a byte at a time gains nothing); a stalled
///   body gets a 408 with a JSON error when no answer has started;
/// - after the last response, the next request must start within `timeouts.idle`.
///
/// While a request is fully read and its response not yet written no timer
/// runs: the intake bounds its own wait. Plain NIO on NIOHTTP1's parts, placed
/// right after the request decoder, so that Hummingbird's pipeline and a lean
/// NIOHTTP1 one can both use it.
final class RequestTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let timeouts: ConnectionTimeouts
    private let observer: any ConnectionObserver

    /// A head arrived, its end not yet.
    private var readingBody = false
    /// Requests whose head arrived and whose response has not ended.
    private var responsesOwed = 0
    /// A (non-informational) response head is written, its end not yet.
    private var responding = false
    /// The next head is under way: a fresh connection, or bytes arrived
    /// since the last response that made no part yet.
    private var headStarted = true
    /// Whether the current read made any part (reset at each read's end).
    private var readMadeParts = false
    private var timer: (kind: ConnectionTimeouts.Kind, task: Scheduled<Void>)?

    init(timeouts: ConnectionTimeouts, observer: any ConnectionObserver) {
        self.timeouts = timeouts
        self.observer = observer
    }

    /// What the connection is waiting for the client to do, if anything.
    private var awaited: ConnectionTimeouts.Kind? {
        if readingBody { return .body }
        if responsesOwed > 0 { return nil }
        return headStarted ? .head : .idle
    }

    // MARK: Events

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { updateTimer(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
    }

    func channelActive(context: ChannelHandlerContext) {
        updateTimer(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        readMadeParts = true
        switch unwrapInboundIn(data) {
        case .head:
            readingBody = true
            responsesOwed += 1
            headStarted = false
        case .body:
            break
        case .end:
            readingBody = false
        }
        updateTimer(context: context)
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !readMadeParts && !readingBody && !headStarted {
            // Bytes came that the decoder holds as a partial head.
            headStarted = true
            updateTimer(context: context)
        }
        readMadeParts = false
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            if head.status.code >= 200 { responding = true }
        case .body:
            break
        case .end:
            responding = false
            responsesOwed = max(0, responsesOwed - 1)
            updateTimer(context: context)
        }
        context.write(data, promise: promise)
    }

    // MARK: Timer

    /// Keeps the running timer when it already waits for the same thing (so
    /// more bytes of a head or body do not extend it), else starts the right one.
    private func updateTimer(context: ChannelHandlerContext) {
        let wanted = awaited
        if timer?.kind == wanted { return }
        cancelTimer()
        guard let wanted, context.channel.isActive else { return }
        let task = context.eventLoop.assumeIsolated().scheduleTask(in: timeouts[wanted]) {
            self.timedOut(wanted, context: context)
        }
        timer = (wanted, task)
    }

    private func cancelTimer() {
        timer?.task.cancel()
        timer = nil
    }

    private func timedOut(_ kind: ConnectionTimeouts.Kind, context: ChannelHandlerContext) {
        timer = nil
        observer.connectionTimedOut(kind)
        guard kind == .body, !responding else {
            // Nothing to answer: no head yet (or the client went quiet), or an answer is already under way.
            context.close(promise: nil)
            return
        }
        responding = true
        for part in Self.requestTimeoutResponse(allocator: context.channel.allocator) {
            context.write(wrapOutboundOut(part), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// 408 with the tracker's JSON error shape, and `Connection: close`.
    static func requestTimeoutResponse(allocator: ByteBufferAllocator) -> [HTTPServerResponsePart] {
        let body = allocator.buffer(
            string: #"{"success":false,"error":{"code":"request_timeout","message":"the request body did not arrive in time"}}"#)
        let headers = HTTPHeaders([
            ("Content-Type", "application/json"), ("Content-Length", String(body.readableBytes)), ("Connection", "close"),
        ])
        return [.head(HTTPResponseHead(version: .http1_1, status: .requestTimeout, headers: headers)), .body(.byteBuffer(body))]
    }
}
