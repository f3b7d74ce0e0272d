import BeaconTestSupport
import Foundation
import Testing

/// tracker → Redis → enricher → Kafka, on the real parts.
@Suite(.serialized) struct PipelineTests {
    static let userAgents: [(ua: String, type: String, os: String, browser: String)] = [
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.5 Mobile/15E148 Safari/604.1",
         "mobile", "iOS", "Mobile Safari"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
         "desktop", "Windows", "Chrome"),
        ("Mozilla/5.0 (iPad; CPU OS 15_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.0 Mobile/15E148 Safari/604.1",
         "tablet", "iOS", "Mobile Safari"),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot", "Other", "Googlebot"),
    ]

    @Test func aBatchComesOutOfKafkaEnriched() async throws {
        let stack = BeaconStack()
        let tracker = try await stack.startTracker()
        let enricher = try await stack.startEnricher()
        let expectations = try Fixtures.geoExpectations()
        let ips = expectations.keys.sorted()

        var events: [[String: Any]] = []
        var expected: [String: (ip: String, agent: Int)] = [:]
        for (index, ip) in ips.enumerated() {
            for agent in Self.userAgents.indices {
                let id = stack.messageId("e2e", index * 10 + agent)
                expected[id] = (ip, agent)
                events.append([
                    "type": "track", "event": "Checkout", "userId": "user-\(index)", "messageId": id,
                    "properties": ["run": stack.runId], "context": ["ip": ip, "userAgent": Self.userAgents[agent].ua],
                ])
            }
        }
        let invalidId = stack.messageId("invalid", 0)
        events.append(["type": "track", "userId": "u", "messageId": invalidId, "properties": ["run": stack.runId]])
        let reply = try await HTTP.postJSON("\(tracker.baseURL)/v1/batch", json: ["batch": events], writeKey: BeaconStack.writeKey)
        #expect(reply.status == 200, "\(reply.text)")

        let collector = try KafkaCollector(topic: "beacon.events") { ($0["properties"] as? [String: Any])?["run"] as? String == stack.runId }
        try await collector.collect(messageIds: Set(expected.keys))

        for (message, event) in collector.messages {
            let id = try #require(event["messageId"] as? String)
            let (ip, agent) = try #require(expected[id])
            #expect(String(decoding: message.key ?? [], as: UTF8.self) == "\(BeaconStack.writeKey):\(event["userId"] as! String)")
            #expect(event["app"] as? String == BeaconStack.app)
            let enrichment = try #require(event["enrichment"] as? [String: Any])
            if let geo = expectations[ip] as? [String: Any] {
                let actual = try #require(enrichment["geo"] as? [String: Any], "no geo for \(ip)")
                for (field, value) in geo {
                    if let number = value as? Double {
                        #expect(abs((actual[field] as? Double ?? .nan) - number) < 0.0001, "\(ip) \(field)")
                    } else {
                        #expect(actual[field] as? String == value as? String, "\(ip) \(field)")
                    }
                }
            } else {
                #expect(enrichment["geo"] == nil, "\(ip) must have no geo")
            }
            let device = try #require(enrichment["device"] as? [String: Any])
            #expect(device["type"] as? String == Self.userAgents[agent].type, "\(Self.userAgents[agent].ua)")
            #expect(device["osFamily"] as? String == Self.userAgents[agent].os)
            #expect(device["browserFamily"] as? String == Self.userAgents[agent].browser)
            #expect((event["timestamp"] as? String)?.hasSuffix("Z") == true)
        }
        // Within one key (one user) the order is the order sent.
        var lastIndex: [String: Int] = [:]
        for (message, event) in collector.messages {
            let key = String(decoding: message.key ?? [], as: UTF8.self)
            let id = event["messageId"] as! String
            let index = Int(id.split(separator: "-").last!)!
            #expect(index > lastIndex[key, default: -1], "order within \(key)")
            lastIndex[key] = index
        }

        let invalid = try KafkaCollector(topic: "beacon.events.invalid") { $0["messageId"] as? String == invalidId }
        try await invalid.collect(until: "the invalid event") { !$0.messages.isEmpty }
        #expect(invalid.messages.first?.json["reason"] as? String == "track needs a non-empty \"event\" name")

        // SIGTERM: each stops cleanly, with status 0.
        #expect(try await enricher.terminate() == 0)
        #expect(try await tracker.terminate() == 0)
    }
}
