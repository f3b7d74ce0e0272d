import BeaconCore
import BeaconKafka
import Foundation
import Hummingbird
import Testing
@testable import LiveViewService

@Suite struct EventFilterTests {
    func message(_ json: String, topic: String = "beacon.events") -> TailedMessage {
        TailedMessage(KafkaMessage(topic: topic, partition: 0, offset: 1, key: nil, value: Array(json.utf8), timestampMs: nil))
    }

    let order = #"{"type":"track","event":"Order Completed","app":"shop","userId":"u1","enrichment":{"geo":{"countryCode":"DE"}}}"#
    let page = #"{"type":"page","name":"Home","app":"blog","anonymousId":"a1"}"#

    @Test func anEmptyFilterMatchesEverything() {
        #expect(EventFilter().matches(message(order)))
        #expect(EventFilter().matches(message("not json")))
    }

    @Test func filtersByEachField() {
        #expect(EventFilter(eventType: "track").matches(message(order)))
        #expect(!EventFilter(eventType: "track").matches(message(page)))
        #expect(EventFilter(event: "order completed").matches(message(order)))
        #expect(EventFilter(event: "Home").matches(message(page)))
        #expect(!EventFilter(event: "Signup").matches(message(order)))
        #expect(EventFilter(app: "shop").matches(message(order)))
        #expect(!EventFilter(app: "shop").matches(message(page)))
        #expect(EventFilter(country: "de").matches(message(order)))
        #expect(!EventFilter(country: "FR").matches(message(order)))
        #expect(!EventFilter(country: "DE").matches(message(page)))
        #expect(EventFilter(text: "U1").matches(message(order)))
        #expect(!EventFilter(text: "nowhere").matches(message(order)))
        #expect(EventFilter(eventType: "track", app: "shop", country: "DE").matches(message(order)))
    }

    @Test func looksInsideInvalidRecords() {
        let invalid = #"{"reason":"track needs a non-empty \"event\" name","payload":{"type":"track","app":"shop"}}"#
        #expect(EventFilter(eventType: "track", app: "shop").matches(message(invalid, topic: "beacon.events.invalid")))
    }

    @Test func readsFiltersFromTheSubscribeCommand() throws {
        let command = try SessionProtocol.command(#"{"type":"subscribe","topic":"beacon.events","filters":{"eventType":"track","country":" DE ","text":""}}"#)
        #expect(command == .subscribe(topic: "beacon.events", filter: EventFilter(eventType: "track", country: "DE")))
        #expect(try SessionProtocol.command(#"{"type":"pause"}"#) == .pause)
        #expect(throws: SessionProtocol.InvalidCommand.self) { try SessionProtocol.command(#"{"type":"delete"}"#) }
        #expect(throws: SessionProtocol.InvalidCommand.self) { try SessionProtocol.command("[]") }
    }
}

@Suite struct LiveSessionTests {
    @Test func aSlowBrowserLosesTheOldestFramesAndIsTold() async {
        let session = LiveSession(queueSize: 3)
        for index in 0..<10 { session.send("frame-\(index)") }
        session.finish()
        var received: [String] = []
        for await frame in session.frames { received.append(frame) }
        #expect(received == ["frame-7", "frame-8", "frame-9"])
        #expect(session.counters.dropped == 7)
    }

    @Test func pausedSessionsReceiveNothing() async throws {
        let session = LiveSession(queueSize: 10)
        let message = TailedMessage(KafkaMessage(topic: "t", partition: 0, offset: 0, key: nil, value: Array(#"{"type":"track"}"#.utf8), timestampMs: 1))
        session.setPaused(true)
        session.offer(message)
        session.setPaused(false)
        session.configure(filter: EventFilter(eventType: "page"))
        session.offer(message)
        session.configure(filter: EventFilter(eventType: "track"))
        session.offer(message)
        session.finish()
        var received: [String] = []
        for await frame in session.frames { received.append(frame) }
        #expect(received.count == 1)
        #expect(session.counters.matched == 1)
        #expect(try JSONParser.parse(received[0])["value"]?["type"] == "track")
    }
}

@Suite struct AccessTokenTests {
    @Test func needsTheExactToken() {
        let token = AccessToken("s3cret")
        func request(_ uri: String, authorization: String? = nil) -> Request {
            var head = HTTPRequest(method: .get, scheme: "http", authority: "x", path: uri)
            if let authorization { head.headerFields[.authorization] = authorization }
            return Request(head: head, body: .init(buffer: .init()))
        }
        #expect(token.allows(request("/?token=s3cret")))
        #expect(token.allows(request("/ws", authorization: "Bearer s3cret")))
        #expect(!token.allows(request("/?token=s3cre")))
        #expect(!token.allows(request("/?token=s3cret2")))
        #expect(!token.allows(request("/")))
        #expect(!token.allows(request("/", authorization: "Bearer nope")))
    }
}
