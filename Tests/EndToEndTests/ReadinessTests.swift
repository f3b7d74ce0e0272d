import BeaconCore
import BeaconTestSupport
import Foundation
import Testing

/// `/readyz` follows Kafka both ways: it fails while the broker is away and
/// returns to 200 once it is back, without a restart. Each test has a broker
/// of its own behind a proxy it can take away.
@Suite(.serialized) struct ReadinessTests {
    let run = UUID().uuidString.lowercased().prefix(8).description

    func readiness(_ service: ServiceProcess) async -> (status: Int, failing: [String: Any]) {
        guard let reply = try? await HTTP.get("\(service.baseURL)/readyz") else { return (0, [:]) }
        return (reply.status, (try? reply.json())?["failing"] as? [String: Any] ?? [:])
    }

    /// Ready, not ready during an outage of a few seconds (naming Kafka), ready again after it.
    func expectReadinessFollowsKafka(_ service: ServiceProcess, kafka: ProxiedKafka, condition: String) async throws {
        try await Await.condition("\(service.name) to be ready", timeout: .seconds(60)) { await readiness(service).status == 200 }
        await kafka.outage()
        try await Await.condition("\(service.name) to say Kafka is away", timeout: .seconds(60)) {
            let (status, failing) = await readiness(service)
            return status == 503 && failing.keys.contains { $0.hasPrefix(condition) }
        }
        try await kafka.recover()
        try await Await.condition("\(service.name) to be ready again once Kafka is back", timeout: .seconds(60)) {
            await readiness(service).status == 200
        }
    }

    @Test func pusherIsReadyAgainAfterAKafkaOutage() async throws {
        let topics = (apns: "ready.apns.\(run)", fcm: "ready.fcm.\(run)", feedback: "ready.feedback.\(run)")
        let kafka = try await ProxiedKafka.start(topics: [(topics.apns, 1), (topics.fcm, 1), (topics.feedback, 1)])
        let pusher = try await ServiceProcess(executable: "beacon-pusher", name: "pusher-readiness", port: FreePort.next(), environment: [
            "BEACON_KAFKA_BROKERS": kafka.brokers, "BEACON_KAFKA_APNS_TOPIC": topics.apns, "BEACON_KAFKA_FCM_TOPIC": topics.fcm,
            "BEACON_KAFKA_FEEDBACK_TOPIC": topics.feedback, "BEACON_KAFKA_GROUP": "pusher-ready-\(run)",
            "BEACON_KAFKA_SESSION_TIMEOUT_MS": "6000", "BEACON_MONGO_URL": try TestEnvironment.mongoURL(), "BEACON_PUSHER_DRY_RUN": "true",
        ])
        try await expectReadinessFollowsKafka(pusher, kafka: kafka, condition: "kafka")
        #expect(try await pusher.terminate() == 0)
        await kafka.stop()
    }

    @Test func consumersAreReadyAgainAfterAKafkaOutage() async throws {
        let topic = "ready.events.\(run)"
        let kafka = try await ProxiedKafka.start(topics: [(topic, 1), ("ready.failed.\(run)", 1)])
        let consumers = try await ServiceProcess(
            executable: "beacon-consumers", name: "consumers-readiness", port: FreePort.next(),
            environment: [
                "BEACON_KAFKA_BROKERS": kafka.brokers, "BEACON_KAFKA_TOPIC": topic, "BEACON_KAFKA_FAILED_TOPIC": "ready.failed.\(run)",
                "BEACON_KAFKA_GROUP_PREFIX": "ready-\(run)-", "BEACON_KAFKA_SESSION_TIMEOUT_MS": "6000",
                "BEACON_CONSUMERS_ENABLED": "counters", "BEACON_REDIS_URL": try TestEnvironment.redisURL(),
            ])
        try await expectReadinessFollowsKafka(consumers, kafka: kafka, condition: "kafka counters")
        #expect(try await consumers.terminate() == 0)
        await kafka.stop()
    }

    @Test func liveViewReadinessFollowsKafka() async throws {
        let kafka = try await ProxiedKafka.start(topics: [("ready.tail.\(run)", 1)])
        let liveView = try await ServiceProcess(
            executable: "beacon-liveview", name: "liveview-readiness", port: FreePort.next(),
            environment: ["BEACON_KAFKA_BROKERS": kafka.brokers, "BEACON_LIVEVIEW_TOKEN": "t", "BEACON_LIVEVIEW_TOPICS": "ready.tail.\(run)"])
        try await expectReadinessFollowsKafka(liveView, kafka: kafka, condition: "kafka")
        #expect(try await liveView.terminate() == 0)
        await kafka.stop()
    }
}
