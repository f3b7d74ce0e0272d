import BeaconCore
import BeaconRedis
import BeaconTestSupport
import Foundation
import Testing

/// A postback job, tracker → Redis → enricher → Kafka `beacon.webhooks`, on
/// the real parts: each object's request arrives keyed by its id, readable
/// as the delivery worker reads it, and the webhook stream is emptied once
/// Kafka has them.
@Suite(.serialized) struct PostbackPipelineTests {
    @Test func aJobsRequestsReachTheWebhookTopicKeyedById() async throws {
        let stack = BeaconStack()
        let tracker = try await stack.startTracker(extra: [
            "BEACON_POSTBACK_ALLOWED_HOSTS_\(BeaconStack.app.uppercased())": "127.0.0.1",
        ])
        let enricher = try await stack.startEnricher()
        let accepted = try await HTTP.postJSON("\(tracker.baseURL)/v1/postback", json: [
            "endpoint": ["method": "POST", "url": "http://127.0.0.1:9/conv?click={click}&run=\(stack.runId)"],
            "data": [["click": "c 1", "value": 1], ["click": "c2", "value": 2], ["value": 3]],
        ], writeKey: BeaconStack.writeKey)
        #expect(accepted.status == 202, "\(accepted.text)")
        let jobId = try #require(try accepted.json()["jobId"] as? String)

        let topic = try KafkaCollector(topic: WebhookTopics.defaultTopic) { $0["jobId"] as? String == jobId }
        try await topic.collect(until: "the job's three requests") { $0.messages.count >= 3 }
        let requests = try topic.messages.map { try WebhookRequest(json: try JSONParser.parse($0.message.value)) }
        #expect(Set(requests.map(\.id)) == ["\(jobId):0", "\(jobId):1", "\(jobId):2"])
        #expect(topic.messages.allSatisfy { $0.message.key.map { String(decoding: $0, as: UTF8.self) } == $0.json["id"] as? String })
        let byIndex = Dictionary(uniqueKeysWithValues: requests.map { ($0.id, $0) })
        #expect(byIndex["\(jobId):0"]?.url == "http://127.0.0.1:9/conv?click=c%201&run=\(stack.runId)")
        #expect(byIndex["\(jobId):2"]?.url == "http://127.0.0.1:9/conv?click=&run=\(stack.runId)", "a missing key is empty")
        // The object as sent (the test's JSON encoder picks the key order).
        let body = try byIndex["\(jobId):1"]?.body.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) } as? [String: Any]
        #expect(body?["click"] as? String == "c2" && body?["value"] as? Int == 2 && body?.count == 2)

        let redis = try RedisConnection(try TestEnvironment.redisURL())
        defer { _ = try? redis.command(["DEL", stack.webhookStream]) }
        try await Await.condition("the webhook stream emptied once Kafka confirmed", timeout: .seconds(30)) {
            try redis.command(["XLEN", stack.webhookStream]).checked().integer == 0
        }
        _ = try await enricher.terminate()
        _ = try await tracker.terminate()
    }
}
