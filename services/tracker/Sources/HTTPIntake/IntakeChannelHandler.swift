import BeaconCore
import NIOCore
import NIOHTTP1

/// Answers the intake routes on the connection's event loop, on NIOHTTP1's
/// parts, before Hummingbird converts them and routes them: the body is collected here, the events are checked
/// and queued for the Redis writer on this thread, and the writer's outcome
/// comes back with one `execute` on this loop. No task, no async hop, per
/// request. Requests for any other route (health, metrics, preflights,
/// unknown paths) pass on to the router untouched.
///
/// One request is handled at a time, in order: parts of a pipelined request
/// that arrive while an answer is pending (ours or the router's) wait here
/// (reads are held once 64 parts wait), so answers never overtake each other.
final class IntakeChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case collecting(IntakeRoute, HTTPRequestHead, ByteBuffer)
        /// Waiting for Redis' outcome.
        case answering
        /// A request for the router: its parts pass on; `answered` once its response ended.
        case forwarding(answered: Bool)
        /// The router's request is all passed on; its response has not ended yet.
        case awaitingRouter
        /// Over the limit: the rest of the body is read and dropped (up to
        /// `drainBytes`), then the refusal is answered on a connection that stays.
        case discarding(IntakeError, origin: String?, dropped: Int)
        /// Answered and closing: what else arrives is dropped.
        case closing
    }

    private let intake: EventIntake
    private let pixel: PixelIntake
    private let cors: CORSPolicy
    private var state = State.idle
    private var waiting = CircularBuffer<HTTPServerRequestPart>()
    private var readHeld = false
    private var closeAfterAnswer = false
    private var peer: String??

    init(intake: EventIntake, cors: CORSPolicy) {
        self.intake = intake
        self.pixel = PixelIntake(intake: intake)
        self.cors = cors
    }

    private var metrics: TrackerMetrics { intake.metrics }
    private var maxBytes: Int { intake.limits.maxRequestBytes }
    /// How much of an oversize body is read to keep the connection; beyond,
    /// the refusal is sent at once and the connection closed.
    private var drainBytes: Int { max(2 * maxBytes, 1 << 20) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch state {
        case .answering, .awaitingRouter: waiting.append(part)
        default: handle(part, context: context)
        }
    }

    private func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch (state, part) {
        case (.idle, .head(let head)):
            guard let route = IntakeRoute(head) else {
                state = .forwarding(answered: false)
                context.fireChannelRead(wrapInboundOut(part))
                return
            }
            begin(route, head, context: context)
        case (.collecting(let route, let head, var body), .body(var chunk)):
            guard body.readableBytes + chunk.readableBytes <= maxBytes else {
                state = .discarding(
                    .tooLarge("request is larger than \(maxBytes) bytes"), origin: head.headers.first(name: "origin"),
                    dropped: body.readableBytes + chunk.readableBytes)
                return
            }
            state = .idle  // lets `body` be uniquely referenced while it grows
            body.writeBuffer(&chunk)
            state = .collecting(route, head, body)
        case (.collecting(let route, let head, let body), .end):
            dispatch(route, IntakeRequest(head: head, body: body, peer: peerAddress(context)), context: context)
        case (.discarding(let error, let origin, let dropped), .body(let chunk)):
            let total = dropped + chunk.readableBytes
            if total > drainBytes {
                closeAfterAnswer = true
                refuse(error, origin: origin, context: context)
            } else {
                state = .discarding(error, origin: origin, dropped: total)
            }
        case (.discarding(let error, let origin, _), .end):
            state = .answering
            refuse(error, origin: origin, context: context)
        case (.forwarding(let answered), _):
            context.fireChannelRead(wrapInboundOut(part))
            if case .end = part { state = answered ? .idle : .awaitingRouter }
        case (.closing, _):
            break
        default:
            // A body or end with no head: the HTTP decoder never does this.
            context.fireChannelRead(wrapInboundOut(part))
        }
    }

    private func begin(_ route: IntakeRoute, _ head: HTTPRequestHead, context: ChannelHandlerContext) {
        metrics.requests.increment()
        if let retries = head.headers.first(name: CORSPolicy.retryCount.canonicalName).flatMap(Int.init), retries > 0 {
            metrics.retriedRequests.increment()
        }
        closeAfterAnswer = !head.isKeepAlive
        let length = head.headers.first(name: "content-length").flatMap(Int.init)
        if let length, length > maxBytes {
            let error = IntakeError.tooLarge("request is \(length) bytes; the limit is \(maxBytes)")
            let origin = head.headers.first(name: "origin")
            if length > drainBytes {
                closeAfterAnswer = true
                refuse(error, origin: origin, context: context)
            } else {
                state = .discarding(error, origin: origin, dropped: 0)
            }
            return
        }
        state = .collecting(route, head, context.channel.allocator.buffer(capacity: min(length ?? 0, maxBytes)))
    }

    private func dispatch(_ route: IntakeRoute, _ request: IntakeRequest, context: ChannelHandlerContext) {
        state = .answering
        let origin = request.header(.origin)
        let accepted: EventIntake.Accepted
        do {
            switch route {
            case .events(let type): accepted = try intake.accept(request, type: type)
            case .pixel(let name): accepted = try pixel.accept(request, event: name)
            }
        } catch {
            refuse(error, origin: origin, context: context)
            return
        }
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        let queued = intake.submitter.submit(accepted.events) { outcome in
            loop.execute {
                let (handler, context) = bound.value
                handler.finish(accepted, outcome, origin: origin, context: context)
            }
        }
        if !queued {
            refuse(.unavailable("the tracker's buffer or the event backlog is full; retry later"), origin: origin, context: context)
        }
    }

    private func finish(_ accepted: EventIntake.Accepted, _ outcome: WriteRequest.Outcome, origin: String?, context: ChannelHandlerContext) {
        switch outcome {
        case .stored:
            metrics.accepted(app: accepted.app, count: accepted.events.count)
            answer(accepted.response, origin: origin, context: context)
        case .unavailable(let reason):
            refuse(.unavailable(reason), origin: origin, context: context)
        }
    }

    private func refuse(_ error: IntakeError, origin: String?, context: ChannelHandlerContext) {
        metrics.rejected(error.code)
        answer(error.response, origin: origin, context: context)
    }

    private func answer(_ response: IntakeResponse, origin: String?, context: ChannelHandlerContext) {
        write(response, origin: origin, context: context)
        guard !closeAfterAnswer else {
            state = .closing
            return
        }
        state = .idle
        resume(context: context)
    }

    private func write(_ response: IntakeResponse, origin: String?, context: ChannelHandlerContext) {
        var response = response
        cors.decorate(&response, origin: origin)
        response.headers.add(name: "Content-Length", value: String(response.body.readableBytes))
        if closeAfterAnswer { response.headers.add(name: "Connection", value: "close") }
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: response.status.code), headers: response.headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        if closeAfterAnswer {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    /// Back to idle: handles what waited, then lets reads go on.
    private func resume(context: ChannelHandlerContext) {
        var replayed = false
        defer {
            // The router's side takes reads in batches that end with a read
            // complete; parts replayed here had theirs long ago.
            if replayed { context.fireChannelReadComplete() }
        }
        while !waiting.isEmpty {
            switch state {
            case .answering, .awaitingRouter, .closing: return
            default:
                replayed = true
                handle(waiting.removeFirst(), context: context)
            }
        }
        if readHeld {
            readHeld = false
            context.read()
        }
    }

    private func peerAddress(_ context: ChannelHandlerContext) -> String? {
        if let peer { return peer }
        let address = context.channel.remoteAddress?.ipAddress
        peer = .some(address)
        return address
    }

    // MARK: outbound: the router's answers, and reads

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
        guard case .end = unwrapOutboundIn(data) else { return }
        switch state {
        case .forwarding: state = .forwarding(answered: true)
        case .awaitingRouter:
            state = .idle
            resume(context: context)
        default: break
        }
    }

    /// Reads go on while an answer is pending (a client that does not
    /// pipeline sends nothing meanwhile, and stopping and restarting reads
    /// would cost two epoll_ctl calls per request); only a client that
    /// pipelines this far ahead is held until the answers catch up.
    func read(context: ChannelHandlerContext) {
        switch state {
        case .answering, .awaitingRouter:
            if waiting.count >= Self.maxWaitingParts { readHeld = true } else { context.read() }
        default: context.read()
        }
    }

    private static let maxWaitingParts = 64

    /// On shutdown the router's connection handler closes connections it
    /// thinks idle; one whose intake answer is pending closes after it instead.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            switch state {
            case .collecting, .answering:
                closeAfterAnswer = true
                return
            default: break
            }
        }
        context.fireUserInboundEventTriggered(event)
    }
}
