import BeaconCore
import Foundation
import Testing
@testable import TrackerService

@Suite struct ClientAddressTests {
    let resolver = ClientAddress(trustedProxies: ["10.0.0.0/8", "::1"])

    @Test func usesThePeerWhenItIsNotAProxy() {
        #expect(resolver.resolve(peer: "203.0.113.9", forwardedFor: "81.2.69.142") == "203.0.113.9")
    }

    @Test func believesForwardedForFromTrustedProxies() {
        #expect(resolver.resolve(peer: "10.1.2.3", forwardedFor: "81.2.69.142") == "81.2.69.142")
        // The right-most address that is not a proxy is the client; what it claims before that is not believed.
        #expect(resolver.resolve(peer: "10.1.2.3", forwardedFor: "1.1.1.1, 81.2.69.142, 10.9.9.9") == "81.2.69.142")
        #expect(resolver.resolve(peer: "::1", forwardedFor: "2001:db8::1") == "2001:db8::1")
    }

    @Test func ignoresGarbageInForwardedFor() {
        #expect(resolver.resolve(peer: "10.1.2.3", forwardedFor: "not-an-ip") == "10.1.2.3")
    }
}

@Suite struct WriteKeysTests {
    @Test func mapsKeysToApps() throws {
        let keys = try WriteKeys(entries: ["k1:shop", "k2:blog", "k3:shop"])
        #expect(keys.app(for: "k1") == "shop")
        #expect(keys.app(for: "nope") == nil)
        #expect(keys.appNames == ["blog", "shop"])
    }

    @Test func rejectsMalformedEntries() {
        #expect(throws: SettingsError.self) { try WriteKeys(entries: ["no-colon"]) }
        #expect(throws: SettingsError.self) { try WriteKeys(entries: []) }
    }
}

@Suite struct BasicAuthTests {
    @Test func readsTheUsername() {
        let header = "Basic " + Data("wk_123:".utf8).base64EncodedString()
        #expect(BasicAuth.username(fromHeader: header) == "wk_123")
        #expect(BasicAuth.username(fromHeader: "Bearer x") == nil)
        #expect(BasicAuth.username(fromHeader: "Basic !!!") == nil)
        #expect(BasicAuth.username(fromHeader: nil) == nil)
        #expect(BasicAuth.username(fromHeader: "bAsIc  " + Data("wk:pw".utf8).base64EncodedString() + " ") == "wk")
        #expect(BasicAuth.username(fromHeader: "Basic " + Data(":pw".utf8).base64EncodedString()) == nil)
        #expect(BasicAuth.username(fromHeader: "Basic d2s6=") == nil)  // bad length
        #expect(BasicAuth.username(fromHeader: "Basic d2s=6cHc=") == nil)  // data after padding
    }

    /// The hand-written decoder agrees with Foundation's on every length and padding.
    @Test func decodesAsFoundationDoes() {
        var rng = SystemRandomNumberGenerator()
        for length in 0..<64 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let encoded = Array(Data(bytes).base64EncodedString().utf8)
            let decoded = encoded.withUnsafeBufferPointer { BasicAuth.decodeBase64($0) }
            #expect(decoded == (length == 0 ? nil : bytes), "length \(length)")
        }
        for text in ["wk_1:", "ü-key:secret", "a:b:c", "k"] {
            let header = "Basic " + Data(text.utf8).base64EncodedString()
            let expected = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)
            #expect(BasicAuth.username(fromHeader: header) == expected)
        }
    }
}

@Suite struct EventStamperTests {
    let facts = EventStamper.RequestFacts(
        writeKey: "wk", app: "shop", receivedAt: "2026-01-01T00:00:00.000Z", ip: "81.2.69.142", userAgent: "UA/1.0",
        sharedContext: ["library": ["name": "analytics-node"], "ip": "9.9.9.9"], sentAt: "2026-01-01T00:00:01.000Z"
    )

    @Test func fillsWhatIsMissingAndKeepsWhatWasSent() throws {
        var event: JSONObject = ["event": "Order Completed", "context": ["userAgent": "Mine/2"]]
        EventStamper().stamp(&event, type: .track, facts: facts)
        #expect(event["type"] == "track")
        #expect(event["messageId"]?.stringValue?.count == 36)
        #expect(event["receivedAt"] == "2026-01-01T00:00:00.000Z")
        #expect(event["app"] == "shop")
        #expect(event["sentAt"] == "2026-01-01T00:00:01.000Z")
        #expect(event["context"]?["userAgent"] == "Mine/2")
        // The batch's shared context applies where the event has none of its own.
        #expect(event["context"]?["ip"] == "9.9.9.9")
        #expect(event["context"]?["library"]?["name"] == "analytics-node")
    }

    @Test func keepsTheClientsMessageId() {
        var event: JSONObject = ["messageId": "abc"]
        EventStamper().stamp(&event, type: .identify, facts: facts)
        #expect(event["messageId"] == "abc")
    }
}

@Suite struct EventQueueTests {
    @Test func boundsByWeightAndKeepsOrder() {
        let queue = EventQueue<Int>(capacity: 10)
        #expect(queue.push(1, weight: 6))
        #expect(!queue.push(2, weight: 6))
        #expect(queue.push(3, weight: 4))
        #expect(queue.count == 10)
        #expect(queue.pop() == 1)
        #expect(queue.pop() == 3)
        #expect(queue.pop() == nil)
        // Popped but not released still counts: the consumer holds that work.
        #expect(queue.count == 10)
        #expect(!queue.push(4, weight: 1))
        queue.release(weight: 6)
        queue.release(weight: 4)
        #expect(queue.count == 0)
        #expect(queue.push(4, weight: 1))
    }

    @Test func manyProducersOneConsumerLoseNothing() async {
        let queue = EventQueue<Int>(capacity: 1_000_000)
        let producers = 8, perProducer = 5_000
        let consumer = Task.detached {
            var seen = Set<Int>()
            while seen.count < producers * perProducer {
                if let value = queue.pop() { seen.insert(value); queue.release(weight: 1) } else { queue.waitForElements(timeout: .milliseconds(50)) }
            }
            return seen
        }
        await withTaskGroup(of: Void.self) { group in
            for producer in 0..<producers {
                group.addTask {
                    for index in 0..<perProducer { _ = queue.push(producer * perProducer + index, weight: 1) }
                }
            }
        }
        let seen = await consumer.value
        #expect(seen.count == producers * perProducer)
        #expect(queue.count == 0)
    }
}
