import BeaconCore
import BeaconKafka
import BeaconRedis
import BeaconTestSupport
import Crypto
import Foundation
import Testing

/// SIGTERM under load, service by service: each exits 0 within its grace
/// period, and nothing it had accepted is lost.
@Suite(.serialized) struct GracefulShutdownTests {
    static let grace = Duration.seconds(25)

    /// Sends batches until told to stop; keeps the messageIds that got a 2xx.
    actor Load {
        private(set) var acknowledged: [String] = []
        private var stopped = false
        private var task: Task<Void, Never>?

        func start(stack: BeaconStack, url: String, prefix: String) {
            task = Task {
                var start = 0
                while !self.stopped {
                    let batch = stack.batch(50, prefix: prefix, from: start)
                    let body = try? JSONSerialization.data(withJSONObject: batch)
                    let reply = try? await HTTP.post(
                        "\(url)/v1/batch", body: body ?? Data(),
                        headers: ["Content-Type": "application/json", "Authorization": HTTP.basicAuth(BeaconStack.writeKey)])
                    if reply?.status == 200 { self.acknowledged += (start..<(start + 50)).map { stack.messageId(prefix, $0) } }
                    start += 50
                }
            }
        }

        var count: Int { acknowledged.count }

        func stop() async -> [String] {
            stopped = true
            await task?.value
            return acknowledged
        }
    }

    func stopCleanly(_ service: ServiceProcess) async throws {
        let started = ContinuousClock.now
        let status = try await service.terminate(timeout: Self.grace)
        #expect(status == 0, "\(service.name) exited with \(status)")
        #expect(ContinuousClock.now - started < Self.grace, "\(service.name) took longer than its grace period")
        // A normal stop is quiet: nothing at error level, Hummingbird's shutdown included.
        #expect(service.errorLines().isEmpty, "\(service.name) logged errors:\n\(service.errorLines().joined(separator: "\n"))")
    }

    @Test func trackerAndEnricherStopCleanlyUnderLoadAndLoseNothing() async throws {
        let stack = BeaconStack()
        let tracker = try await stack.startTracker()
        let enricher = try await stack.startEnricher()
        let load = Load()
        await load.start(stack: stack, url: tracker.baseURL, prefix: "g")
        try await Await.condition("some load to have been accepted") { await load.count >= 2_000 }

        // The enricher first, mid-stream: it drains what Kafka has not confirmed.
        try await stopCleanly(enricher)
        try await Await.condition("more load while the enricher is down") { await load.count >= 4_000 }
        // Then the tracker, with requests in flight.
        try await stopCleanly(tracker)
        let acknowledged = Set(await load.stop())

        // Everything acknowledged is in Redis or already in Kafka: a new enricher moves the rest.
        let restarted = try await stack.startEnricher(consumer: "after-shutdown")
        let collector = try KafkaCollector(topic: "beacon.events") { ($0["properties"] as? [String: Any])?["run"] as? String == stack.runId }
        try await collector.collect(messageIds: acknowledged, timeout: .seconds(120))
        try await stopCleanly(restarted)
    }

    @Test func consumersPusherAndLiveViewStopCleanlyUnderLoad() async throws {
        let run = UUID().uuidString.lowercased().prefix(8).description
        let brokers = try TestEnvironment.kafkaBrokers()
        let apnsTopic = "test.sigterm.apns.\(run)", feedbackTopic = "test.sigterm.feedback.\(run)", eventsTopic = "test.sigterm.events.\(run)"
        try KafkaAdmin.createTopics(brokers: brokers, topics: [(apnsTopic, 2), (feedbackTopic, 1), (eventsTopic, 2)], timeoutMs: 10_000)

        // The pusher, mid-stream against a slow APNs stand-in.
        let key = P256.Signing.PrivateKey()
        let apns = try await APNsTestServer.start(
            teamId: "TEAM123456", keyId: "KEY1234567", publicKey: key.publicKey, topic: "com.beacon.sigterm", responseDelay: .milliseconds(20))
        let out = try TestEnvironment.outputDir()
        try key.pemRepresentation.write(toFile: "\(out)/sigterm-\(run).p8", atomically: true, encoding: .utf8)
        try apns.caPEM.write(toFile: "\(out)/sigterm-ca-\(run).pem", atomically: true, encoding: .utf8)
        let total = 300
        let producer = try KafkaProducer(config: KafkaProducerConfig(brokers: brokers)) { _ in }
        var tokens: [String] = []
        for index in 0..<total {
            var token = ""
            for byte in SHA256.hash(data: Data("sigterm-\(run)-\(index)".utf8)) { token += String(format: "%02x", byte) }
            tokens.append(token)
            let request = PushRequest(
                requestId: "\(run)-\(index)", app: "sigapp", platform: .ios, token: token, notification: PushNotification(title: "T"), createdAt: "")
            try producer.produce(topic: apnsTopic, key: Array(token.utf8), value: JSONWriter.bytes(request.json), token: UInt64(index + 1))
            // Events for the consumers too.
            let event: JSONValue = ["type": "track", "event": "E", "userId": "u", "app": .string("sig-\(run)"), "messageId": .string("\(run)-\(index)")]
            try producer.produce(topic: eventsTopic, key: nil, value: JSONWriter.bytes(event), token: UInt64(total + index + 1))
        }
        try producer.flush(timeoutMs: 10_000)
        let pusherEnvironment = [
            "BEACON_KAFKA_BROKERS": brokers, "BEACON_KAFKA_APNS_TOPIC": apnsTopic, "BEACON_KAFKA_FCM_TOPIC": "\(apnsTopic).fcm",
            "BEACON_KAFKA_FEEDBACK_TOPIC": feedbackTopic, "BEACON_KAFKA_GROUP": "sigterm-\(run)", "BEACON_KAFKA_SESSION_TIMEOUT_MS": "6000",
            "BEACON_MONGO_URL": try TestEnvironment.mongoURL(), "BEACON_MONGO_DATABASE": "sigterm_\(run)",
            "BEACON_PUSHER_DRY_RUN": "false", "BEACON_PUSHER_CONCURRENCY": "20", "BEACON_APPS": "sigapp",
            "BEACON_APNS_SIGAPP_TEAM_ID": "TEAM123456", "BEACON_APNS_SIGAPP_KEY_ID": "KEY1234567",
            "BEACON_APNS_SIGAPP_KEY_FILE": "\(out)/sigterm-\(run).p8", "BEACON_APNS_SIGAPP_TOPIC": "com.beacon.sigterm",
            "BEACON_APNS_SIGAPP_ENDPOINT": apns.endpoint, "BEACON_APNS_SIGAPP_CA_FILE": "\(out)/sigterm-ca-\(run).pem",
        ]
        let pusher = try await ServiceProcess(executable: "beacon-pusher", name: "pusher-sigterm", port: FreePort.next(), environment: pusherEnvironment)
        let consumers = try await ServiceProcess(
            executable: "beacon-consumers", name: "consumers-sigterm", port: FreePort.next(),
            environment: [
                "BEACON_CONSUMERS_ENABLED": "counters", "BEACON_KAFKA_BROKERS": brokers, "BEACON_KAFKA_TOPIC": eventsTopic,
                "BEACON_KAFKA_GROUP_PREFIX": "sigterm-\(run)-", "BEACON_KAFKA_SESSION_TIMEOUT_MS": "6000",
                "BEACON_MONGO_URL": try TestEnvironment.mongoURL(), "BEACON_REDIS_URL": try TestEnvironment.redisURL(),
            ])
        let liveview = try await BeaconStack().startLiveView(token: "t")

        try await Await.condition("pushes flowing", timeout: .seconds(60)) { apns.counters.delivered >= 40 }
        try await stopCleanly(pusher)
        try await stopCleanly(consumers)
        try await stopCleanly(liveview)

        // What the stopped pusher did not finish, the next one does.
        let next = try await ServiceProcess(executable: "beacon-pusher", name: "pusher-after", port: FreePort.next(), environment: pusherEnvironment)
        try await Await.condition("every push delivered after the restart", timeout: .seconds(120)) {
            Set(apns.received.filter { $0.status == 200 }.map(\.deviceToken)).count == total
        }
        try await stopCleanly(next)
        try await apns.shutdown()
    }
}
