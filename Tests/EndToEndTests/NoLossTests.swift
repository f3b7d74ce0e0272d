import BeaconTestSupport
import Foundation
import Testing

/// kill -9 of the enricher while 20,000 events flow loses none of them.
@Suite(.serialized) struct NoLossTests {
    @Test func killingTheEnricherMidStreamLosesNothing() async throws {
        let stack = BeaconStack()
        let tracker = try await stack.startTracker()
        // A restarted enricher comes back under a new consumer name (as a new
        // pod would) and must claim what the dead one left pending.
        let fastClaim = ["BEACON_REDIS_CLAIM_IDLE_MS": "2000", "BEACON_REDIS_CLAIM_INTERVAL_MS": "500"]
        let first = try await stack.startEnricher(consumer: "first", extra: fastClaim)

        let total = 20_000, perBatch = 100
        let sender = Task {
            var acknowledged: [String] = []
            for start in stride(from: 0, to: total, by: perBatch) {
                let reply = try await HTTP.postJSON("\(tracker.baseURL)/v1/batch", json: stack.batch(perBatch, prefix: "n", from: start), writeKey: BeaconStack.writeKey)
                if reply.status == 200 { acknowledged += (start..<(start + perBatch)).map { stack.messageId("n", $0) } }
            }
            return acknowledged
        }
        // Kill it once it is busy: some events through, many still to come.
        try await Await.condition("the first enricher to have enriched 3000 events", timeout: .seconds(120)) {
            let metrics = try await HTTP.get("\(first.baseURL)/metrics").text
            return PrometheusText.value(metrics, "beacon_enricher_events_enriched_total") >= 3000
        }
        first.kill()
        let second = try await stack.startEnricher(consumer: "second", extra: fastClaim)

        let acknowledged = try await sender.value
        #expect(acknowledged.count == total)
        let wanted = Set(acknowledged)
        let collector = try KafkaCollector(topic: "beacon.events") { ($0["properties"] as? [String: Any])?["run"] as? String == stack.runId }
        try await collector.collect(messageIds: wanted, timeout: .seconds(180))
        print("no-loss: \(total) acknowledged, \(collector.messageIdCounts.count) distinct in Kafka, \(collector.duplicates) duplicates after kill -9")
        #expect(wanted.isSubset(of: collector.messageIdCounts.keys))
        try await second.terminate()
        try await tracker.terminate()
    }
}
