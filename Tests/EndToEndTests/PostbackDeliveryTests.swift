import BeaconCore
import BeaconKafka
import BeaconTestSupport
import Foundation
import Testing

/// A postback job from the tracker to the partner and into the delivery
/// log, on the real parts: tracker → Redis → enricher → Kafka → the
/// webhooks consumer → a real HTTP endpoint, and the admin API.
@Suite(.serialized) struct PostbackDeliveryTests {
    @Test func aJobOfAThousandObjectsMakesAThousandCallsAndAThousandLoggedRequests() async throws {
        let stack = BeaconStack()
        let server = try await WebhookTestServer.start()
        let topic = "test.webhooks.\(stack.runId)"
        let brokers = try TestEnvironment.kafkaBrokers()
        try KafkaAdmin.createTopics(brokers: brokers, topics: [(topic, 3), ("\(topic).failed", 1)], timeoutMs: 10_000)
        let tracker = try await stack.startTracker(extra: ["BEACON_POSTBACK_ALLOWED_HOSTS_\(BeaconStack.app.uppercased())": "127.0.0.1"])
        let enricher = try await stack.startEnricher(extra: ["BEACON_KAFKA_WEBHOOK_TOPIC": topic])
        let worker = try await ServiceProcess(executable: "beacon-consumers", name: "webhooks", port: FreePort.next(), environment: [
            "BEACON_CONSUMERS_ENABLED": "webhooks", "BEACON_KAFKA_BROKERS": brokers, "BEACON_KAFKA_WEBHOOK_TOPIC": topic,
            "BEACON_KAFKA_WEBHOOK_FAILED_TOPIC": "\(topic).failed", "BEACON_KAFKA_GROUP_PREFIX": "test-\(stack.runId)-",
            "BEACON_REDIS_URL": try TestEnvironment.redisURL(), "BEACON_WEBHOOKS_SCHEDULE_KEY": "test:\(stack.runId):webhooks",
            "BEACON_WEBHOOKS_ALLOW_PRIVATE": "true", "BEACON_MONGO_URL": try TestEnvironment.mongoURL(),
            "BEACON_MONGO_DATABASE": "beacon_\(stack.runId)", "BEACON_CONSUMERS_ADMIN_TOKENS": "test-admin-token",
        ])
        let accepted = try await HTTP.postJSON("\(tracker.baseURL)/v1/postback", json: [
            "endpoint": ["method": "POST", "url": "\(server.baseURL)/ok/{n}?sub={sub}"],
            "data": (0..<1_000).map { ["n": $0, "sub": "s \($0)"] },
        ], writeKey: BeaconStack.writeKey)
        #expect(accepted.status == 202, "\(accepted.text)")
        #expect((try accepted.json()["requestIds"] as? [String])?.count == 1_000)

        try await Await.condition("a thousand calls", timeout: .seconds(90)) { Set(server.calls(under: "/ok/").map(\.path)).count == 1_000 }
        // Compared as JSON: the object's key order is the order this test's JSONSerialization wrote it in.
        let body = try #require(server.calls(to: "/ok/7").first?.body)
        let sent = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        #expect(sent["n"] as? Int == 7 && sent["sub"] as? String == "s 7" && sent.count == 2, "\(body)")
        // The log: every attempt, paged through the admin API.
        let auth = ["Authorization": "Bearer test-admin-token"]
        var logged: Set<String> = []
        try await Await.condition("a thousand delivered requests in the log", timeout: .seconds(30)) {
            logged = []
            var cursor: String?
            repeat {
                let page = try await HTTP.get(
                    "\(worker.baseURL)/requests?app=\(BeaconStack.app)&outcome=delivered&limit=500" + (cursor.map { "&cursor=\($0)" } ?? ""),
                    headers: auth)
                let json = try page.json()
                for attempt in json["attempts"] as? [[String: Any]] ?? [] { logged.insert(attempt["requestId"] as? String ?? "") }
                cursor = json["next"] as? String
            } while cursor != nil
            return logged.count == 1_000
        }
        let one = try await HTTP.get("\(worker.baseURL)/webhooks/\(logged.first!)", headers: auth).json()
        let attempt = try #require((one["attempts"] as? [[String: Any]])?.first)
        #expect(attempt["status"] as? Int == 200)
        #expect((attempt["url"] as? String)?.hasSuffix("?sub=***") == true, "query values are not logged")
        #expect(try await HTTP.get("\(worker.baseURL)/requests").status == 401)
        #expect(try await worker.terminate() == 0)
        _ = try await enricher.terminate()
        _ = try await tracker.terminate()
        await server.stop()
    }
}
