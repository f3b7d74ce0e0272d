import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import TrackerService

/// What the connection handlers reported, for the tests to check.
final class RecordingObserver: ConnectionObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var _opened = 0, _closed = 0, _refused = 0
    private var _timedOut: [ConnectionTimeouts.Kind] = []

    var opened: Int { lock.withLock { _opened } }
    var closed: Int { lock.withLock { _closed } }
    var refused: Int { lock.withLock { _refused } }
    var timedOut: [ConnectionTimeouts.Kind] { lock.withLock { _timedOut } }

    func connectionOpened() { lock.withLock { _opened += 1 } }
    func connectionClosed() { lock.withLock { _closed += 1 } }
    func connectionRefused() { lock.withLock { _refused += 1 } }
    func connectionTimedOut(_ kind: ConnectionTimeouts.Kind) { lock.withLock { _timedOut.append(kind) } }
}

/// RequestTimeoutHandler behind NIOHTTP1's decoder and encoder, on an
/// EmbeddedChannel whose clock the tests move.
@Suite struct RequestTimeoutHandlerTests {
    static let timeouts = ConnectionTimeouts(head: .seconds(5), body: .seconds(20), idle: .seconds(60))
    let channel = EmbeddedChannel()
    let observer = RecordingObserver()

    init() throws {
        try channel.pipeline.syncOperations.addHandlers([
            HTTPResponseEncoder(), ByteToMessageHandler(HTTPRequestDecoder()),
            RequestTimeoutHandler(timeouts: Self.timeouts, observer: observer),
        ])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
    }

    func send(_ text: String) throws {
        try channel.writeInbound(channel.allocator.buffer(string: text))
    }

    func advance(_ amount: TimeAmount) {
        channel.embeddedEventLoop.advanceTime(by: amount)
    }

    /// What the application upstream would do: answer the request it got.
    func respond() throws {
        while let _ = try channel.readInbound(as: HTTPServerRequestPart.self) {}
        let headers = HTTPHeaders([("Content-Length", "2")])
        try channel.writeOutbound(HTTPServerResponsePart.head(.init(version: .http1_1, status: .ok, headers: headers)))
        try channel.writeOutbound(HTTPServerResponsePart.body(.byteBuffer(channel.allocator.buffer(string: "{}"))))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
    }

    func written() throws -> String {
        var text = ""
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            text += buffer.readString(length: buffer.readableBytes) ?? ""
        }
        return text
    }

    let request = "POST /v1/track HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}"

    @Test func aConnectionThatSendsNothingIsClosedAfterTheHeadTimeout() {
        advance(.milliseconds(4_999))
        #expect(channel.isActive)
        advance(.milliseconds(2))
        #expect(!channel.isActive)
        #expect(observer.timedOut == [.head])
    }

    @Test func tricklingAHeadDoesNotExtendItsTimeout() throws {
        for second in 0..<4 {
            try send(["POST /v1/t", "rack HTTP/1.1\r\n", "Host: t\r\n", "X-A: b\r\n"][second])
            advance(.seconds(1))
        }
        #expect(channel.isActive)
        advance(.milliseconds(1_001))
        #expect(!channel.isActive)
        #expect(observer.timedOut == [.head])
        #expect(try written().isEmpty, "a half-sent head is closed without an answer")
    }

    @Test func aStalledBodyIsAnswered408AndClosed() throws {
        try send("POST /v1/batch HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{\"batch\":")
        advance(.seconds(19))
        #expect(channel.isActive, "the body timeout, not the head timeout, runs once the head is in")
        try send("[")
        advance(.milliseconds(1_001))
        #expect(!channel.isActive)
        #expect(observer.timedOut == [.body])
        let answer = try written()
        #expect(answer.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), "\(answer)")
        #expect(answer.contains(#""code":"request_timeout""#))
        #expect(answer.lowercased().contains("connection: close"))
    }

    @Test func aStalledBodyWhoseAnswerHasStartedIsClosedWithoutASecondAnswer() throws {
        try send("POST /v1/batch HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{")
        try channel.writeOutbound(HTTPServerResponsePart.head(.init(version: .http1_1, status: .ok)))
        _ = try written()
        advance(.seconds(21))
        #expect(!channel.isActive)
        #expect(try written().isEmpty)
    }

    @Test func noTimerRunsWhileTheRequestIsBeingAnswered() throws {
        try send(request)
        advance(.seconds(600))
        #expect(channel.isActive, "the intake bounds its own wait")
        try respond()
        #expect(try written().hasPrefix("HTTP/1.1 200 OK"))
        #expect(channel.isActive)
    }

    @Test func anIdleKeepAliveConnectionIsClosedAfterTheIdleTimeout() throws {
        try send(request)
        try respond()
        advance(.seconds(59))
        #expect(channel.isActive, "idle, not the (shorter) head timeout, after a response")
        advance(.milliseconds(1_001))
        #expect(!channel.isActive)
        #expect(observer.timedOut == [.idle])
    }

    @Test func keepAliveRequestsInTimeAreServedOneAfterTheOther() throws {
        for _ in 0..<5 {
            try send(request)
            try respond()
            advance(.seconds(30))  // idle, well within its timeout
        }
        #expect(channel.isActive)
        #expect(observer.timedOut.isEmpty)
    }

    @Test func theFirstBytesOfTheNextRequestStartItsHeadTimeout() throws {
        try send(request)
        try respond()
        advance(.seconds(30))
        try send("POST /v1/track HTTP/1.1\r\n")
        advance(.milliseconds(4_999))
        #expect(channel.isActive)
        advance(.milliseconds(2))
        #expect(!channel.isActive)
        #expect(observer.timedOut == [.head])
    }
}

@Suite struct ConnectionLimitHandlerTests {
    func connect(_ limit: ConnectionLimit) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: ConnectionLimitHandler(limit: limit))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return channel
    }

    @Test func aConnectionOverTheLimitIsClosedAtOnceAndCounted() throws {
        let observer = RecordingObserver()
        let limit = ConnectionLimit(maximum: 2, observer: observer)
        let first = try connect(limit)
        let second = try connect(limit)
        let third = try connect(limit)
        #expect(first.isActive && second.isActive)
        #expect(!third.isActive)
        #expect(observer.refused == 1)
        #expect(limit.openConnections == 2)

        // A place freed is taken again.
        try first.close().wait()
        #expect(limit.openConnections == 1)
        let fourth = try connect(limit)
        #expect(fourth.isActive)
        #expect(observer.opened == 3 && observer.closed == 1 && observer.refused == 1)
        _ = try? second.finish()
        _ = try? fourth.finish()
        #expect(limit.openConnections == 0)
    }
}
