import BeaconTestSupport
import Foundation
import Testing

/// Rate limits on the real tracker and enricher: the app's bucket answers
/// 429 as Segment's SDKs expect, a hot user's excess goes through the
/// overflow stream, and every event that got a 2xx reaches Kafka.
@Suite(.serialized) struct RateLimitEndToEndTests {
    @Test func appLimitRefusesAndHotUserOverflowsAndNothingIsLost() async throws {
        let stack = BeaconStack()
        let tracker = try await stack.startTracker(extra: [
            "BEACON_RATE_LIMITS_TESTAPP_EVENTS_PER_SECOND": "100",
            "BEACON_RATE_LIMITS_TESTAPP_BURST": "400",
            "BEACON_RATE_LIMITS_TESTAPP_USER_EVENTS_PER_SECOND": "1",
            "BEACON_RATE_LIMITS_TESTAPP_USER_BURST": "10",
        ])
        let enricher = try await stack.startEnricher(extra: ["BEACON_REDIS_OVERFLOW_EVENTS_PER_SECOND": "200"])
        var accepted: Set<String> = []

        // One hot user sends 100 events in ten batches, ten calm users one each: all taken.
        for batch in 0..<10 {
            let events: [[String: Any]] = (0..<10).map { index in
                ["type": "track", "event": "Hot", "userId": "hot", "messageId": stack.messageId("hot", batch * 10 + index),
                 "properties": ["run": stack.runId]]
            }
            let reply = try await HTTP.postJSON("\(tracker.baseURL)/v1/batch", json: ["batch": events], writeKey: BeaconStack.writeKey)
            #expect(reply.status == 200, "\(reply.text)")
            accepted.formUnion(events.map { $0["messageId"] as! String })
        }
        for user in 0..<10 {
            let id = stack.messageId("calm", user)
            let reply = try await HTTP.postJSON(
                "\(tracker.baseURL)/v1/track",
                json: ["event": "Calm", "userId": "calm-\(user)", "messageId": id, "properties": ["run": stack.runId]],
                writeKey: BeaconStack.writeKey)
            #expect(reply.status == 200, "\(reply.text)")
            accepted.insert(id)
        }
        let metrics = try await HTTP.get("\(tracker.baseURL)/metrics").text
        let overflowed = PrometheusText.value(metrics, #"beacon_tracker_rate_limited_events_total{app="testapp",reason="user_overflow"}"#)
        // The hot user's burst (10) and what refilled at 1/s went to the main stream.
        #expect(overflowed >= 80 && overflowed <= 90, "hot user's overflow: \(overflowed)")

        // Batches of 100 from many users until the app's bucket (400, +100/s) runs dry.
        var refused: HTTP.Reply?
        for batch in 0..<20 where refused == nil {
            let events: [[String: Any]] = (0..<100).map { index in
                ["type": "track", "event": "Bulk", "userId": "bulk-\(index)", "messageId": stack.messageId("bulk", batch * 100 + index),
                 "properties": ["run": stack.runId]]
            }
            let reply = try await HTTP.postJSON("\(tracker.baseURL)/v1/batch", json: ["batch": events], writeKey: BeaconStack.writeKey)
            if reply.status == 429 {
                refused = reply
            } else {
                #expect(reply.status == 200, "\(reply.text)")
                accepted.formUnion(events.map { $0["messageId"] as! String })
            }
        }
        let refusal = try #require(refused, "the app's bucket never refused")
        let retryAfter = try #require(refusal.header("Retry-After").flatMap(Int.init))
        #expect(retryAfter >= 1)
        #expect(refusal.header("X-RateLimit-Reset") == String(retryAfter))
        let body = try refusal.json()
        #expect((body["error"] as? [String: Any])?["code"] as? String == "rate_limited")

        let after = try await HTTP.get("\(tracker.baseURL)/metrics").text
        #expect(PrometheusText.value(after, #"beacon_tracker_rate_limited_events_total{app="testapp",reason="app_limit"}"#) >= 100)
        #expect(PrometheusText.value(after, #"beacon_tracker_events_accepted_total{app="testapp"}"#) == Double(accepted.count))

        // Every accepted event, overflowed or not, reaches Kafka.
        let collector = try KafkaCollector(topic: "beacon.events") { ($0["properties"] as? [String: Any])?["run"] as? String == stack.runId }
        try await collector.collect(messageIds: accepted)
        let enricherMetrics = try await HTTP.get("\(enricher.baseURL)/metrics").text
        #expect(PrometheusText.value(enricherMetrics, "beacon_enricher_events_enriched_total") >= Double(accepted.count))
    }
}
