import BeaconCore
import BeaconKafka
import BeaconMongo
import BeaconTestSupport
import Crypto
import Foundation
import Testing

/// tracker → enricher → consumers (registry, rules) → pusher → APNs and FCM
/// stand-ins, with outcomes on the feedback topic.
@Suite(.serialized) struct PushEndToEndTests {
    let stack = BeaconStack()
    var run: String { stack.runId }
    var apnsTopic: String { "test.apns.\(run)" }
    var fcmTopic: String { "test.fcm.\(run)" }
    var feedbackTopic: String { "test.feedback.\(run)" }
    var database: String { "push_\(run.replacingOccurrences(of: "-", with: "_"))" }
    static let bundle = "com.beacon.test"

    struct Stand: Sendable {
        let apns: APNsTestServer
        let fcm: FCMTestServer
        let pusherEnvironment: [String: String]
    }

    func startStandIns() async throws -> Stand {
        let out = try TestEnvironment.outputDir()
        let key = P256.Signing.PrivateKey()
        let apns = try await APNsTestServer.start(teamId: "TEAM123456", keyId: "KEY1234567", publicKey: key.publicKey, topic: Self.bundle)
        let keyFile = "\(out)/apns-\(run).p8", caFile = "\(out)/apns-ca-\(run).pem"
        try key.pemRepresentation.write(toFile: keyFile, atomically: true, encoding: .utf8)
        try apns.caPEM.write(toFile: caFile, atomically: true, encoding: .utf8)
        let credentials = try FCMTestCredentials(projectId: "beacon-test")
        let fcm = try await FCMTestServer.start(projectId: credentials.projectId, publicKey: credentials.publicKey, clientEmail: credentials.clientEmail)
        let accountFile = "\(out)/fcm-\(run).json"
        try credentials.serviceAccountJSON(tokenURI: fcm.tokenURL).write(toFile: accountFile, atomically: true, encoding: .utf8)
        try KafkaAdmin.createTopics(
            brokers: try TestEnvironment.kafkaBrokers(), topics: [(apnsTopic, 2), (fcmTopic, 2), (feedbackTopic, 1)], timeoutMs: 10_000)
        let app = BeaconStack.app.uppercased()
        return Stand(apns: apns, fcm: fcm, pusherEnvironment: [
            "BEACON_KAFKA_BROKERS": try TestEnvironment.kafkaBrokers(), "BEACON_KAFKA_APNS_TOPIC": apnsTopic,
            "BEACON_KAFKA_FCM_TOPIC": fcmTopic, "BEACON_KAFKA_FEEDBACK_TOPIC": feedbackTopic, "BEACON_KAFKA_GROUP": "pusher-\(run)",
            "BEACON_KAFKA_SESSION_TIMEOUT_MS": "6000",
            "BEACON_MONGO_URL": try TestEnvironment.mongoURL(), "BEACON_MONGO_DATABASE": database,
            "BEACON_PUSHER_DRY_RUN": "false", "BEACON_PUSHER_BACKOFF_MS": "50", "BEACON_APPS": BeaconStack.app,
            "BEACON_APNS_\(app)_TEAM_ID": "TEAM123456", "BEACON_APNS_\(app)_KEY_ID": "KEY1234567", "BEACON_APNS_\(app)_KEY_FILE": keyFile,
            "BEACON_APNS_\(app)_TOPIC": Self.bundle, "BEACON_APNS_\(app)_ENVIRONMENT": "sandbox",
            "BEACON_APNS_\(app)_ENDPOINT": apns.endpoint, "BEACON_APNS_\(app)_CA_FILE": caFile,
            "BEACON_FCM_\(app)_SERVICE_ACCOUNT_FILE": accountFile, "BEACON_FCM_\(app)_ENDPOINT": fcm.baseURL,
            "BEACON_FCM_\(app)_TOKEN_URL": fcm.tokenURL,
        ])
    }

    func startPusher(_ stand: Stand) async throws -> ServiceProcess {
        try await ServiceProcess(executable: "beacon-pusher", name: "pusher", port: FreePort.next(), environment: stand.pusherEnvironment)
    }

    static func hexToken(_ seed: String) -> String {
        var token = ""
        var hash = SHA256.hash(data: Data(seed.utf8)).makeIterator()
        while let byte = hash.next() { token += String(format: "%02x", byte) }
        return token + token  // 64 bytes of hex, like a real APNs token
    }

    @Test func eventsBecomePushesOnBothPlatformsWithOutcomesFedBack() async throws {
        let stand = try await startStandIns()
        let tracker = try await stack.startTracker()
        let enricher = try await stack.startEnricher()
        let rules = try TestEnvironment.outputDir() + "/push-rules-\(run).yaml"
        try """
            rules:
              - name: purchase
                match:
                  event: Purchase \(run)
                actions:
                  - push:
                      title: "Order {{properties.orderId}}"
                      body: "{{properties.total}} EUR, shipping to {{enrichment.geo.city | \\"you\\"}}"
                      data: {orderId: "{{properties.orderId}}"}
                      sound: default
                      collapseKey: orders
            """.write(toFile: rules, atomically: true, encoding: .utf8)
        let consumers = try await ServiceProcess(
            executable: "beacon-consumers", name: "consumers", port: FreePort.next(),
            environment: [
                "BEACON_CONSUMERS_ENABLED": "registry,rules", "BEACON_RULES_FILE": rules,
                "BEACON_KAFKA_BROKERS": try TestEnvironment.kafkaBrokers(), "BEACON_KAFKA_GROUP_PREFIX": "push-\(run)-",
                "BEACON_KAFKA_APNS_TOPIC": apnsTopic, "BEACON_KAFKA_FCM_TOPIC": fcmTopic, "BEACON_KAFKA_SESSION_TIMEOUT_MS": "6000",
                "BEACON_MONGO_URL": try TestEnvironment.mongoURL(), "BEACON_MONGO_DATABASE": database,
                "BEACON_REDIS_URL": try TestEnvironment.redisURL(),
            ])
        let pusher = try await startPusher(stand)

        let good = Self.hexToken("good-\(run)"), bad = Self.hexToken("bad-\(run)"), busy = Self.hexToken("busy-\(run)")
        let android = "fcm-token-\(run)"
        stand.apns.script(token: bad, responses: [.badDeviceToken])
        stand.apns.script(token: busy, responses: [.tooManyRequests(retryAfter: 1)])
        // Devices register through ordinary identify calls, as Segment's SDKs send them.
        for (user, token, type) in [("u-good", good, "ios"), ("u-bad", bad, "ios"), ("u-busy", busy, "ios"), ("u-droid", android, "android")] {
            let reply = try await HTTP.postJSON(
                "\(tracker.baseURL)/v1/identify",
                json: ["userId": user, "traits": ["name": user], "context": ["device": ["token": token, "type": type], "ip": "81.2.69.160"]],
                writeKey: BeaconStack.writeKey)
            #expect(reply.status == 200)
        }
        let devices = try MongoClientPool(uri: try TestEnvironment.mongoURL(), appName: "tests").collection(database: database, name: "devices")
        try await Await.condition("four devices registered", timeout: .seconds(90)) { (try? devices.count([:])) == 4 }

        for (index, user) in ["u-good", "u-bad", "u-busy", "u-droid"].enumerated() {
            let reply = try await HTTP.postJSON(
                "\(tracker.baseURL)/v1/track",
                json: ["userId": user, "event": "Purchase \(run)", "properties": ["orderId": "A\(index)", "total": 42.5],
                       "context": ["ip": "81.2.69.160"]],
                writeKey: BeaconStack.writeKey)
            #expect(reply.status == 200)
        }

        let feedback = try KafkaCollector(topic: feedbackTopic) { _ in true }
        try await feedback.collect(until: "four outcomes on the feedback topic", timeout: .seconds(90)) { $0.messages.count >= 4 }
        var statusByToken: [String: [String: Any]] = [:]
        for (_, record) in feedback.messages { if let token = record["token"] as? String { statusByToken[token] = record } }
        #expect(statusByToken[good]?["status"] as? String == "delivered")
        #expect(statusByToken[android]?["status"] as? String == "delivered")
        #expect(statusByToken[bad]?["status"] as? String == "invalid_token")
        #expect(statusByToken[bad]?["reason"] as? String == "BadDeviceToken")
        #expect(statusByToken[busy]?["status"] as? String == "delivered")
        #expect((statusByToken[busy]?["attempts"] as? Int ?? 0) >= 2, "the 429 was retried")
        #expect(statusByToken[good]?["requestId"] as? String != nil)

        // What APNs received: the rendered payload and the headers.
        let received = try #require(stand.apns.received(token: good).last)
        #expect(received.json?["aps"]?["alert"]?["title"] == "Order A0")
        #expect(received.json?["aps"]?["alert"]?["body"] == "42.5 EUR, shipping to London")
        #expect(received.json?["aps"]?["sound"] == "default")
        #expect(received.json?["orderId"] == "A0")
        #expect(received.header("apns-topic") == Self.bundle)
        #expect(received.header("apns-push-type") == "alert")
        #expect(received.header("apns-priority") == "10")
        #expect(received.header("apns-collapse-id") == "orders")
        #expect(received.jwtClaims?["iss"] == "TEAM123456")
        // And FCM.
        let message = try #require(stand.fcm.deliveredMessages.first { $0.token == android }?.message)
        #expect(message["notification"]?["title"] == "Order A3")
        #expect(message["data"]?["orderId"] == "A3")
        #expect(message["android"]?["collapse_key"] == "orders")

        // The invalid token left the registry.
        try await Await.condition("the bad token removed from the registry") {
            (try? devices.count(["token": .string(bad)])) == 0
        }
        #expect(try devices.count([:]) == 3)

        for service in [pusher, consumers, enricher, tracker] { #expect(try await service.terminate() == 0, "\(service.name)") }
        try await stand.apns.shutdown()
        await stand.fcm.stop()
    }

    @Test func killingThePusherMidStreamLosesNoPushRequest() async throws {
        let stand = try await startStandIns()
        // Requests straight onto the APNs topic, each for its own device token.
        let total = 400
        let tokens = (0..<total).map { Self.hexToken("kill-\(run)-\($0)") }
        let delivered = DeliveredTokens()
        let producer = try KafkaProducer(config: KafkaProducerConfig(brokers: try TestEnvironment.kafkaBrokers())) { report in
            if report.error == nil { delivered.add() }
        }
        for (index, token) in tokens.enumerated() {
            let request = PushRequest(
                requestId: "\(run)-\(index)", app: BeaconStack.app, platform: .ios, token: token,
                notification: PushNotification(title: "Hello \(index)"), createdAt: Timestamp.iso8601(Date()))
            try producer.produce(topic: apnsTopic, key: Array(token.utf8), value: JSONWriter.bytes(request.json), token: UInt64(index + 1))
        }
        try producer.flush(timeoutMs: 10_000)
        #expect(delivered.count == total)

        let first = try await startPusher(stand)
        try await Await.condition("the first pusher to have sent 50", timeout: .seconds(60)) { stand.apns.counters.delivered >= 50 }
        first.kill()
        let sentBeforeKill = stand.apns.counters.delivered
        let second = try await startPusher(stand)
        try await Await.condition("every push request delivered at least once", timeout: .seconds(120)) {
            Set(stand.apns.received.filter { $0.status == 200 }.map(\.deviceToken)).count == total
        }
        let duplicates = stand.apns.counters.delivered - total
        print("pusher kill -9: \(total) requests, \(sentBeforeKill) sent before the kill, all \(total) delivered, \(duplicates) duplicates")
        #expect(try await second.terminate() == 0)
        try await stand.apns.shutdown()
        await stand.fcm.stop()
    }
}

final class DeliveredTokens: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func add() { lock.lock(); value += 1; lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return value }
}
