import NIOCore
import NIOEmbedded
import Testing
@testable import PingerService

/// The session handler against scripted server bytes on an EmbeddedChannel:
/// what it sends, and that a bad server ends in one IMAPError and a closed
/// channel, never a hang.
@Suite struct IMAPClientHandlerTests {
    final class Harness {
        let loop = EmbeddedEventLoop()
        let channel: EmbeddedChannel
        let handler: IMAPClientHandler

        init(greeting: String? = "* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n") throws {
            handler = IMAPClientHandler(eventLoop: loop, greetingTimeout: .seconds(5))
            channel = EmbeddedChannel(handler: handler, loop: loop)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 143)).wait()
            if let greeting { serve(greeting) }
        }

        func serve(_ text: String) { serve(Array(text.utf8)) }

        func serve(_ bytes: [UInt8]) {
            _ = try? channel.writeInbound(channel.allocator.buffer(bytes: bytes))
        }

        /// Everything the client wrote since the last call.
        func sent() -> String {
            var text = ""
            while let buffer = try? channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
            return text
        }

        func run(_ command: IMAPCommand, timeout: TimeAmount = .seconds(10)) -> EventLoopFuture<IMAPClientHandler.Outcome> {
            let promise = loop.makePromise(of: IMAPClientHandler.Outcome.self)
            handler.enqueue(command, timeout: timeout, promise: promise)
            return promise.futureResult
        }

        func idle(for duration: Duration) -> EventLoopFuture<IMAPClientHandler.Outcome> {
            let promise = loop.makePromise(of: IMAPClientHandler.Outcome.self)
            handler.idle(for: duration, timeout: .seconds(10), promise: promise)
            return promise.futureResult
        }

        var isOpen: Bool { channel.isActive }
    }

    /// The result of a future that must have completed already.
    private func result(_ future: EventLoopFuture<IMAPClientHandler.Outcome>) -> Result<IMAPClientHandler.Outcome, IMAPError>? {
        final class Box: @unchecked Sendable { var result: Result<IMAPClientHandler.Outcome, IMAPError>? }
        let box = Box()  // EmbeddedEventLoop runs the callback at once, on this thread
        future.whenComplete { r in
            box.result = r.mapError { $0 as? IMAPError ?? .closed("\($0)") }
        }
        return box.result
    }

    private func error(_ future: EventLoopFuture<IMAPClientHandler.Outcome>) -> IMAPError? {
        if case .failure(let error) = result(future) { return error }
        return nil
    }

    @Test func commandRoundTrip() throws {
        let h = try Harness()
        let noop = h.run(try IMAPCommand("NOOP"))
        #expect(h.sent() == "B1 NOOP\r\n")
        #expect(result(noop) == nil)
        h.serve("* 5 EXISTS\r\nB1 OK done\r\n")
        let outcome = try result(noop)?.get()
        #expect(outcome?.untagged == [.exists(5)])
        #expect(outcome?.status.kind == .ok)
        #expect(h.isOpen)
    }

    @Test func commandsQueueBehindEachOther() throws {
        let h = try Harness()
        let first = h.run(try IMAPCommand("NOOP"))
        let second = h.run(try IMAPCommand("CAPABILITY"))
        #expect(h.sent() == "B1 NOOP\r\n")
        h.serve("B1 OK done\r\n")
        #expect(h.sent() == "B2 CAPABILITY\r\n")
        h.serve("* CAPABILITY IMAP4rev1 IDLE\r\nB2 OK done\r\n")
        #expect(result(first) != nil)
        #expect(try result(second)?.get().untagged == [.capability(["IMAP4REV1", "IDLE"])])
    }

    @Test func commandsWaitForTheGreeting() throws {
        let h = try Harness(greeting: nil)
        let noop = h.run(try IMAPCommand("NOOP"))
        #expect(h.sent() == "")
        h.serve("* OK hi\r\n")
        #expect(h.sent() == "B1 NOOP\r\n")
        h.serve("B1 OK\r\n")
        #expect(result(noop) != nil)
    }

    @Test func synchronisingLiteralWaitsForContinuation() throws {
        let h = try Harness()
        let login = h.run(try IMAPCommand("LOGIN", purpose: .authentication, arguments: [.string("user"), .string("pä\"ss")]))
        #expect(h.sent() == "B1 LOGIN \"user\" {6}\r\n")
        h.serve("+ go on\r\n")
        #expect(h.sent() == "pä\"ss\r\n")
        h.serve("B1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n")
        #expect(try result(login)?.get().status.code == .other(name: "AUTHENTICATIONFAILED", argument: nil))
    }

    @Test func quotingAndLiteralPlus() throws {
        let quoted = try IMAPCommand("LOGIN", arguments: [.string("a\\b"), .string("say \"hi\"")])
        #expect(quoted.chunks == [Array("LOGIN \"a\\\\b\" \"say \\\"hi\\\"\"\r\n".utf8)])
        let plus = try IMAPCommand("LOGIN", arguments: [.string("u"), .string("line\r\nbreak")], literalPlus: true)
        #expect(plus.chunks == [Array("LOGIN \"u\" {11+}\r\nline\r\nbreak\r\n".utf8)])
        #expect(throws: IMAPError.self) { try IMAPCommand("LOGIN", arguments: [.string("nul\u{0}")]) }
    }

    @Test func byeMidCommand() throws {
        let h = try Harness()
        let noop = h.run(try IMAPCommand("NOOP"))
        let queued = h.run(try IMAPCommand("NOOP"))
        h.serve("* BYE shutting down\r\n")
        #expect(error(noop) == .closed("the server said BYE: shutting down"))
        #expect(error(queued) == .closed("the server said BYE: shutting down"))
        #expect(!h.isOpen)
        // Later commands fail at once with the same error.
        #expect(error(h.run(try IMAPCommand("NOOP"))) == .closed("the server said BYE: shutting down"))
    }

    @Test func byeDuringLogoutIsExpected() throws {
        let h = try Harness()
        let logout = h.run(try IMAPCommand("LOGOUT", purpose: .logout))
        h.serve("* BYE Logging out\r\nB1 OK Logout completed.\r\n")
        #expect(try result(logout)?.get().status.kind == .ok)
    }

    @Test func unknownTagClosesTheConnection() throws {
        let h = try Harness()
        let noop = h.run(try IMAPCommand("NOOP"))
        h.serve("B9 OK done\r\n")
        guard case .protocolViolation = error(noop) else { Issue.record("expected a protocol violation"); return }
        #expect(!h.isOpen)
    }

    @Test func garbageClosesTheConnection() throws {
        let h = try Harness()
        let noop = h.run(try IMAPCommand("NOOP"))
        h.serve([0x16, 0x03, 0x01, 0x00, 0xA5, 0x01, 0x00, 0x00, 0xA1, 0x0D, 0x0A])
        guard case .protocolViolation = error(noop) else { Issue.record("expected a protocol violation"); return }
        #expect(!h.isOpen)
    }

    @Test func giantLiteralClosesTheConnection() throws {
        let h = try Harness()
        let noop = h.run(try IMAPCommand("NOOP"))
        h.serve("* 1 FETCH (BODY[] {2000000000}\r\n")
        guard case .protocolViolation(let message) = error(noop) else { Issue.record("expected a protocol violation"); return }
        #expect(message.contains("literal"))
        #expect(!h.isOpen)
    }

    @Test func badGreeting() throws {
        let h = try Harness(greeting: "B1 OK hello\r\n")
        #expect(!h.isOpen)
        let bye = try Harness(greeting: "* BYE too many connections\r\n")
        guard case .closed(let message) = error(bye.run(try IMAPCommand("NOOP"))) else { Issue.record("expected closed"); return }
        #expect(message.contains("too many connections"))
    }

    @Test func silentServerTimesOut() throws {
        let h = try Harness()
        let noop = h.run(try IMAPCommand("NOOP"), timeout: .seconds(3))
        h.serve("* 1 EXISTS\r\n")  // something, but never the tagged reply
        h.loop.advanceTime(by: .seconds(2))
        #expect(result(noop) == nil)
        h.loop.advanceTime(by: .seconds(2))
        #expect(error(noop) == .timedOut("NOOP: no reply within 3 s"))
        #expect(!h.isOpen)
    }

    @Test func noGreetingTimesOut() throws {
        let h = try Harness(greeting: nil)
        let noop = h.run(try IMAPCommand("NOOP"))
        h.loop.advanceTime(by: .seconds(6))
        guard case .timedOut = error(noop) else { Issue.record("expected a timeout"); return }
    }

    @Test func serverClosingMidResponse() throws {
        let h = try Harness()
        let noop = h.run(try IMAPCommand("NOOP"))
        h.serve("B1 OK do")
        h.channel.pipeline.fireChannelInactive()
        guard case .protocolViolation = error(noop) else { Issue.record("expected a protocol violation"); return }
    }

    @Test func unexpectedContinuation() throws {
        let h = try Harness()
        let noop = h.run(try IMAPCommand("NOOP"))
        h.serve("+ what\r\n")
        guard case .protocolViolation = error(noop) else { Issue.record("expected a protocol violation"); return }
    }

    @Test func idleWakesOnExists() throws {
        let h = try Harness()
        let idle = h.idle(for: .seconds(60))
        #expect(h.sent() == "B1 IDLE\r\n")
        h.serve("+ idling\r\n")
        #expect(h.sent() == "")
        h.serve("* 7 EXISTS\r\n")
        #expect(h.sent() == "DONE\r\n")
        h.serve("* 1 RECENT\r\nB1 OK Idle completed.\r\n")
        #expect(try result(idle)?.get().idleWake == .changed(exists: 7))
    }

    @Test func idleTimesOutThenDone() throws {
        let h = try Harness()
        let idle = h.idle(for: .seconds(30))
        h.serve("+ idling\r\n")
        _ = h.sent()
        h.loop.advanceTime(by: .seconds(29))
        #expect(h.sent() == "")
        h.loop.advanceTime(by: .seconds(1))
        #expect(h.sent() == "DONE\r\n")
        h.serve("B1 OK Idle completed.\r\n")
        #expect(try result(idle)?.get().idleWake == .timedOut)
    }

    @Test func commandQueuedDuringIdleEndsIt() throws {
        let h = try Harness()
        let idle = h.idle(for: .seconds(60))
        h.serve("+ idling\r\n")
        _ = h.sent()
        let logout = h.run(try IMAPCommand("LOGOUT", purpose: .logout))
        #expect(h.sent() == "DONE\r\n")
        h.serve("B1 OK Idle completed.\r\n")
        #expect(try result(idle)?.get().idleWake == .interrupted)
        #expect(h.sent() == "B2 LOGOUT\r\n")
        h.serve("* BYE bye\r\nB2 OK done\r\n")
        #expect(result(logout) != nil)
    }

    @Test func changeBeforeIdleReturnsAtOnce() throws {
        let h = try Harness()
        let noop = h.run(try IMAPCommand("NOOP"))
        h.serve("* 2 EXISTS\r\nB1 OK\r\n")
        _ = h.sent()
        #expect(result(noop) != nil)
        let idle = h.idle(for: .seconds(60))
        #expect(h.sent() == "")
        #expect(try result(idle)?.get().idleWake == .changed(exists: 2))
    }

    @Test func idleWithoutContinuationIsAViolation() throws {
        let h = try Harness()
        let idle = h.idle(for: .seconds(60))
        h.serve("B1 OK Idle completed.\r\n")
        guard case .protocolViolation = error(idle) else { Issue.record("expected a protocol violation"); return }
    }

    @Test func idleTimeoutWaitingForDoneReply() throws {
        let h = try Harness()
        let idle = h.idle(for: .seconds(5))
        h.serve("+ idling\r\n")
        h.loop.advanceTime(by: .seconds(5))
        #expect(h.sent().hasSuffix("DONE\r\n"))
        h.loop.advanceTime(by: .seconds(11))
        guard case .timedOut = error(idle) else { Issue.record("expected a timeout"); return }
    }

    @Test func closeByClientFailsWaitingCommands() throws {
        let h = try Harness()
        let idle = h.idle(for: .seconds(60))
        h.serve("+ idling\r\n")
        h.handler.closeByClient()
        #expect(error(idle) == .closed("closed by the client"))
        #expect(!h.isOpen)
    }

    @Test func startTLSRefusesInjectedBytes() throws {
        let h = try Harness()
        let promise = h.loop.makePromise(of: IMAPClientHandler.Outcome.self)
        h.handler.enqueue(try IMAPCommand("STARTTLS", purpose: .starttls), timeout: .seconds(5), promise: promise) {
            throw IMAPError.tlsFailed("not reached")
        }
        h.serve("B1 OK Begin TLS\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n")
        guard case .protocolViolation(let message) = error(promise.futureResult) else { Issue.record("expected a protocol violation"); return }
        #expect(message.contains("STARTTLS"))
    }
}
