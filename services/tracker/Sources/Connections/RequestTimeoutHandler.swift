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
    /// What the client is awaited for now, and by when.
    private var wait: (kind: ConnectionTimeouts.Kind, deadline: NIODeadline)?
    /// The one timer, and when it fires. It is moved only when a wait ends
    /// sooner than it would fire; when it fires early it looks again. So a busy
    /// keep-alive connection schedules almost nothing per request.
    private var timer: (fires: NIODeadline, task: Scheduled<Void>)?

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

    /// Starts the wait the connection is in, unless it is the one already
    /// running (so more bytes of a head or body do not extend it).
    private func updateTimer(context: ChannelHandlerContext) {
        guard let kind = awaited, context.channel.isActive else {
            wait = nil
            return
        }
        if wait?.kind == kind { return }
        let deadline = context.eventLoop.now + timeouts[kind]
        wait = (kind, deadline)
        if let timer, timer.fires <= deadline { return }
        schedule(at: deadline, context: context)
    }

    private func schedule(at deadline: NIODeadline, context: ChannelHandlerContext) {
        timer?.task.cancel()
        let task = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.timerFired(context: context)
        }
        timer = (deadline, task)
    }

    private func timerFired(context: ChannelHandlerContext) {
        timer = nil
        guard let wait, context.channel.isActive else { return }
        if wait.deadline > context.eventLoop.now {
            schedule(at: wait.deadline, context: context)
            return
        }
        self.wait = nil
        timedOut(wait.kind, context: context)
    }

    private func cancelTimer() {
        timer?.task.cancel()
        timer = nil
        wait = nil
    }

    private func timedOut(_ kind: ConnectionTimeouts.Kind, context: ChannelHandlerContext) {
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
