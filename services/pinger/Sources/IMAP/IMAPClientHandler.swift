import NIOCore
import NIOSSL

/// The IMAP session on its channel: reads responses, runs one command at a
/// time (the others wait in a queue), times commands out, and turns anything
/// wrong into one IMAPError that fails every waiting command and closes the
/// channel. Lives on the channel's event loop only; what it keeps per
/// connection is a few fields, so thousands of idle sessions cost little.
final class IMAPClientHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    /// What a command got: its untagged responses and its tagged status.
    struct Outcome: Sendable {
        var untagged: [IMAPResponse] = []
        var status: IMAPStatusResponse
        /// How an IDLE ended (nil for other commands).
        var idleWake: IMAPIdleWake?

        /// The capabilities the reply announced (untagged, or in the OK's code).
        var capabilities: Set<String>? {
            if case .capability(let names) = status.code { return names }
            for case .capability(let names) in untagged.reversed() { return names }
            return nil
        }
    }

    private struct Queued {
        var command: IMAPCommand
        var timeout: TimeAmount
        var promise: EventLoopPromise<Outcome>
        /// Makes the TLS handler that STARTTLS puts in front of this one.
        var makeTLSHandler: (() throws -> NIOSSLClientHandler)?
    }

    private enum IdleState { case starting, idling, done }

    private struct Running {
        var queued: Queued
        var tag: String
        var untagged: [IMAPResponse] = []
        var timer: Scheduled<Void>?
        var idle: IdleState = .starting
        var idleWake: IMAPIdleWake = .timedOut
    }

    /// More untagged responses than this for one command are not kept (their
    /// changes are still noted): a server cannot grow our memory with them.
    private static let maxUntaggedKept = 256

    private var parser: IMAPResponseParser
    private var inbound: ByteBuffer?
    private var context: ChannelHandlerContext?
    private var greeting: EventLoopPromise<IMAPStatusResponse>?
    private var greetingTimer: Scheduled<Void>?
    private let greetingTimeout: TimeAmount
    /// The DNS name the server's certificate must carry (nil: an IP endpoint, or no TLS).
    private let certificateName: String?
    private var certificateChecked = false
    private var running: Running?
    private var queue: [Queued] = []
    private var nextTag: UInt32 = 1
    private var failure: IMAPError?
    private var closedByClient = false
    /// A change (EXISTS, EXPUNGE, ...) came since the last EXAMINE or IDLE.
    private var changeSeen = false
    private var lastExists: Int?

    let greetingFuture: EventLoopFuture<IMAPStatusResponse>

    init(eventLoop: any EventLoop, greetingTimeout: TimeAmount, certificateName: String? = nil,
         limits: IMAPResponseParser.Limits = .init()) {
        self.certificateName = certificateName
        let promise = eventLoop.makePromise(of: IMAPStatusResponse.self)
        self.greeting = promise
        self.greetingFuture = promise.futureResult
        self.greetingTimeout = greetingTimeout
        self.parser = IMAPResponseParser(limits: limits)
    }

    // MARK: - channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        greetingTimer = context.eventLoop.assumeIsolated().scheduleTask(in: greetingTimeout) { [weak self] in
            self?.fail(.timedOut("no greeting from the server within \(self?.greetingTimeout.imapDescription ?? "the timeout")"))
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        fail(.closed("the IMAP handler was removed"))
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard failure == nil else { return }
        if inbound == nil {
            inbound = bytes
        } else {
            inbound!.writeBuffer(&bytes)
        }
        do {
            while failure == nil, var buffer = inbound {
                inbound = nil  // unique while parsing: no copy on write
                let response = try parser.next(from: &buffer)
                inbound = buffer
                guard let response else { break }
                try handle(response)
            }
        } catch {
            fail(error)
            return
        }
        if let buffer = inbound, buffer.readableBytes == 0 {
            inbound = nil  // an idle session keeps no buffer
        } else if inbound != nil {
            inbound!.discardReadBytes()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if closedByClient {
            fail(.closed("closed by the client"))
        } else if parser.isInsideResponse || (inbound?.readableBytes ?? 0) > 0 {
            fail(.protocolViolation("the server closed the connection in the middle of a response"))
        } else {
            fail(.closed("the server closed the connection"))
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            fail(.tlsFailed(String(describing: error)))
        } else if let error = error as? IMAPError {
            fail(error)
        } else {
            fail(.closed("connection error: \(error)"))
        }
    }

    // MARK: - commands (called on the event loop)

    /// Queue a command; a queued command also ends a running IDLE (DONE).
    func enqueue(_ command: IMAPCommand, timeout: TimeAmount, promise: EventLoopPromise<Outcome>,
                 makeTLSHandler: (() throws -> NIOSSLClientHandler)? = nil) {
        if let failure {
            promise.fail(failure)
            return
        }
        queue.append(Queued(command: command, timeout: timeout, promise: promise, makeTLSHandler: makeTLSHandler))
        if running == nil, greeting == nil {
            startNext()
        } else if running?.idle == .idling {
            endIdle(.interrupted)
        }
    }

    /// IDLE, unless a change was already seen since the last EXAMINE or IDLE:
    /// then that change, at once.
    func idle(for duration: Duration, timeout: TimeAmount, promise: EventLoopPromise<Outcome>) {
        if failure == nil, changeSeen {
            changeSeen = false
            promise.succeed(Outcome(status: IMAPStatusResponse(kind: .ok, text: "change seen before IDLE"), idleWake: .changed(exists: lastExists)))
            return
        }
        enqueue(IMAPCommand("IDLE", purpose: .idle(duration), chunks: [Array("IDLE\r\n".utf8)]), timeout: timeout, promise: promise)
    }

    /// True while an IDLE runs (the server said "+", no DONE sent yet).
    var isIdling: Bool { running?.idle == .idling }

    /// End a running IDLE now (it returns `.interrupted`).
    func interruptIdle() {
        if running?.idle == .idling { endIdle(.interrupted) }
    }

    func closeByClient() {
        closedByClient = true
        fail(.closed("closed by the client"))
    }

    private func startNext() {
        guard failure == nil, running == nil, !queue.isEmpty, let context else { return }
        var queued = queue.removeFirst()
        let tag = "B\(nextTag)"
        nextTag &+= 1
        var first = Array((tag + " ").utf8)
        first += queued.command.chunks.removeFirst()
        var run = Running(queued: queued, tag: tag)
        let name = queued.command.name, timeout = queued.timeout
        run.timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
            self?.fail(.timedOut("\(name): no reply within \(timeout.imapDescription)"))
        }
        running = run
        write(first)
    }

    private func write(_ bytes: [UInt8]) {
        guard let context else { return }
        context.writeAndFlush(NIOAny(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
    }

    private func endIdle(_ wake: IMAPIdleWake) {
        guard var run = running, run.idle == .idling, let context else { return }
        run.idle = .done
        run.idleWake = wake
        run.timer?.cancel()
        let timeout = run.queued.timeout
        run.timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
            self?.fail(.timedOut("IDLE: no reply to DONE within \(timeout.imapDescription)"))
        }
        running = run
        write(Array("DONE\r\n".utf8))
    }

    // MARK: - responses

    private func handle(_ response: IMAPResponse) throws(IMAPError) {
        if certificateName != nil, !certificateChecked { try checkCertificateName() }
        if let promise = greeting {
            guard case .untaggedStatus(let status) = response else {
                throw .protocolViolation("the server's first response is not a greeting")
            }
            switch status.kind {
            case .ok, .preauth:
                greeting = nil
                greetingTimer?.cancel()
                greetingTimer = nil
                promise.succeed(status)
                startNext()
            case .bye:
                throw .closed("the server refused the connection: \(status.summary)")
            case .no, .bad:
                throw .protocolViolation("greeting with \(status.kind.rawValue)")
            }
            return
        }
        switch response {
        case .continuation:
            try handleContinuation()
        case .tagged(let tag, let status):
            try handleTagged(tag: tag, status: status)
        case .untaggedStatus(let status) where status.kind == .bye:
            if case .logout = running?.queued.command.purpose {
                keep(response)
            } else {
                throw .closed("the server said BYE: \(status.text)")
            }
        default:
            if response.isMailboxChange {
                changeSeen = true
                if case .exists(let n) = response { lastExists = n }
                if running?.idle == .idling { endIdle(.changed(exists: lastExists)) }
            }
            keep(response)
        }
    }

    /// Once the first response came through TLS (the handshake is done): the
    /// certificate must name the host (see IMAPCertificateName).
    private func checkCertificateName() throws(IMAPError) {
        guard let name = certificateName, let operations = context?.pipeline.syncOperations,
            (try? operations.handler(type: NIOSSLHandler.self)) != nil
        else { return }
        certificateChecked = true
        guard let certificate = (try? operations.nioSSL_peerCertificate()) ?? nil,
            IMAPCertificateName.certificate(certificate, names: name)
        else {
            throw .tlsFailed("the server's certificate is not for \(name)")
        }
    }

    /// Keeps what the commands read from (other data is only counted as change).
    private func keep(_ response: IMAPResponse) {
        guard running != nil else { return }
        switch response {
        case .other, .fetch, .expunge, .recent: return
        default: break
        }
        guard running!.untagged.count < Self.maxUntaggedKept else { return }
        running!.untagged.append(response)
    }

    private func handleContinuation() throws(IMAPError) {
        guard var run = running else { throw .protocolViolation("a continuation ('+') while no command runs") }
        if !run.queued.command.chunks.isEmpty {
            let next = run.queued.command.chunks.removeFirst()
            running = run
            write(next)
            return
        }
        switch run.queued.command.purpose {
        case .idle(let duration) where run.idle == .starting:
            run.idle = .idling
            run.timer?.cancel()
            run.timer = context?.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(duration)) { [weak self] in
                self?.endIdle(.timedOut)
            }
            running = run
            // Something queued while IDLE started, or news that came first: end it at once.
            if !queue.isEmpty {
                endIdle(.interrupted)
            } else if changeSeen {
                endIdle(.changed(exists: lastExists))
            }
        case .authentication:
            // A SASL challenge after our response (XOAUTH2 sends its error
            // this way): an empty answer lets the server finish with NO.
            write(Array("\r\n".utf8))
        default:
            throw .protocolViolation("unexpected continuation ('+') during \(run.queued.command.name)")
        }
    }

    private func handleTagged(tag: String, status: IMAPStatusResponse) throws(IMAPError) {
        guard let run = running, run.tag == tag else {
            throw .protocolViolation("tagged response for a command not sent (tag \(tag.prefix(20)))")
        }
        var outcome = Outcome(untagged: run.untagged, status: status)
        switch run.queued.command.purpose {
        case .idle:
            if run.idle == .starting, status.kind == .ok {
                throw .protocolViolation("IDLE completed without a continuation")
            }
            outcome.idleWake = run.idleWake
            if case .changed = run.idleWake { changeSeen = false }
        case .examine where status.kind == .ok:
            changeSeen = false
        case .starttls where status.kind == .ok:
            // Bytes after the OK were sent before TLS: an injection (CVE-2011-0411 class).
            if (inbound?.readableBytes ?? 0) > 0 {
                throw .protocolViolation("data after the STARTTLS reply, before TLS")
            }
            guard let make = run.queued.makeTLSHandler, let context else { throw .tlsFailed("STARTTLS without TLS settings") }
            do {
                try context.pipeline.syncOperations.addHandler(try make(), position: .before(self))
            } catch {
                throw .tlsFailed("cannot start TLS: \(error)")
            }
        default:
            break
        }
        // Only now: a throw above fails this command's promise (fail() finds it running).
        run.timer?.cancel()
        running = nil
        run.queued.promise.succeed(outcome)
        startNext()
    }

    // MARK: - failure

    /// The first failure wins: every waiting command gets it, the channel closes.
    private func fail(_ error: IMAPError) {
        guard failure == nil else { return }
        failure = error
        greetingTimer?.cancel()
        greeting?.fail(error)
        greeting = nil
        if let run = running {
            run.timer?.cancel()
            running = nil
            run.queued.promise.fail(error)
        }
        let waiting = queue
        queue = []
        for queued in waiting { queued.promise.fail(error) }
        inbound = nil
        context?.close(promise: nil)
    }
}

extension TimeAmount {
    /// "3 s" or "250 ms", for error messages.
    var imapDescription: String {
        nanoseconds % 1_000_000_000 == 0 ? "\(nanoseconds / 1_000_000_000) s" : "\(nanoseconds / 1_000_000) ms"
    }
}
