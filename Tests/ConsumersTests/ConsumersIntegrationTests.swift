import BeaconCore
import BeaconKafka
import BeaconMongo
import BeaconTestSupport
import Foundation
import Testing

/// The consumers process against real Kafka, MongoDB and Redis, each test
/// on its own topics, consumer groups, database and app name.
@Suite(.serialized) struct ConsumersIntegrationTests {
    let run = UUID().uuidString.lowercased().prefix(8).description
    var app: String { "app-\(run)" }
    var eventsTopic: String { "test.events.\(run)" }
    var apnsTopic: String { "test.apns.\(run)" }
    var fcmTopic: String { "test.fcm.\(run)" }
    var failedTopic: String { "test.failed.\(run)" }
    var database: String { "beacon_\(run)" }

    static let rules = """
        rules:
          - name: order-push
            match:
              type: track
              event: Order Completed
              properties:
                total: {gte: 50}
            actions:
              - push:
                  title: "Thanks {{traits.name | \\"friend\\"}}"
                  body: "Your order of {{properties.total}} ships to {{enrichment.geo.city}}"
                  data: {orderId: "{{properties.orderId}}"}
                  sound: default
                  collapseKey: order
                  cap: {max: 3, per: 24h}
          - name: private-hook
            match:
              event: Hook Me
            actions:
              - push:
                  title: "Hooked"
              - webhook:
                  url: http://127.0.0.1:9/hook
          - name: unreachable-hook
            match:
              event: Hook Later
            actions:
              - push:
                  title: "Hooked later"
              - webhook:
                  url: http://no-such-host.invalid/hook
        """

    static let adminToken = "integration-admin-token"
    let admin = ["Authorization": "Bearer \(Self.adminToken)"]

    func startConsumers(only: String? = nil, rulesFile: String? = nil, extra: [String: String] = [:], waitForHealth: Bool = true) async throws -> ServiceProcess {
        let brokers = try TestEnvironment.kafkaBrokers()
        try KafkaAdmin.createTopics(
            brokers: brokers, topics: [(eventsTopic, 3), (apnsTopic, 1), (fcmTopic, 1), (failedTopic, 1)], timeoutMs: 10_000)
        var env = [
            "BEACON_KAFKA_BROKERS": brokers, "BEACON_KAFKA_TOPIC": eventsTopic, "BEACON_KAFKA_APNS_TOPIC": apnsTopic,
            "BEACON_KAFKA_FCM_TOPIC": fcmTopic, "BEACON_KAFKA_FAILED_TOPIC": failedTopic, "BEACON_KAFKA_GROUP_PREFIX": "test-\(run)-",
            "BEACON_KAFKA_SESSION_TIMEOUT_MS": "6000", "BEACON_KAFKA_MAX_ATTEMPTS": "2", "BEACON_KAFKA_BACKOFF_MS": "50",
            "BEACON_MONGO_URL": try TestEnvironment.mongoURL(), "BEACON_MONGO_DATABASE": database,
            "BEACON_REDIS_URL": try TestEnvironment.redisURL(), "BEACON_CONSUMERS_ADMIN_TOKENS": Self.adminToken,
        ]
        if let rulesFile { env["BEACON_RULES_FILE"] = rulesFile }
        if let only { env["BEACON_CONSUMERS_ENABLED"] = only }
        for (key, value) in extra { env[key] = value }
        return try await ServiceProcess(
            executable: "beacon-consumers", name: "consumers", port: FreePort.next(), environment: env, waitForHealth: waitForHealth)
    }

    func writeRules(_ text: String) throws -> String {
        let path = try TestEnvironment.outputDir() + "/rules-\(run).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Events as the enricher writes them, produced straight to the test's topic.
    func produce(_ events: [JSONValue]) throws {
        let delivered = DeliveredCount()
        let producer = try KafkaProducer(config: KafkaProducerConfig(brokers: try TestEnvironment.kafkaBrokers())) { report in
            if report.error == nil { delivered.add() }
        }
        for (index, event) in events.enumerated() {
            let user = event["userId"]?.stringValue ?? ""
            try producer.produce(topic: eventsTopic, key: Array("\(app):\(user)".utf8), value: JSONWriter.bytes(event), token: UInt64(index + 1))
        }
        try producer.flush(timeoutMs: 10_000)
        #expect(delivered.value == events.count)
    }

    func event(
        _ name: String, user: String, id: String, properties: JSONValue = [:], device: JSONValue? = nil, type: String = "track",
        secondsAgo: Double = 0
    ) -> JSONValue {
        let at = Timestamp.iso8601(Date().addingTimeInterval(-secondsAgo))
        var context: JSONObject = ["traits": ["name": "Ada"]]
        if let device { context["device"] = device }
        return [
            "type": .string(type), "event": .string(name), "userId": .string(user), "messageId": .string("\(run)-\(id)"),
            "app": .string(app), "properties": properties, "context": .object(context),
            "receivedAt": .string(at), "timestamp": .string(at),
            "enrichment": ["geo": ["countryCode": "DE", "city": "Berlin"], "device": ["type": "mobile"]],
        ]
    }

    func devices() throws -> MongoCollection {
        try MongoClientPool(uri: try TestEnvironment.mongoURL(), appName: "tests").collection(database: database, name: "devices")
    }

    @Test func registryKeepsOneDevicePerTokenFollowingItsUserAndOptOut() async throws {
        let consumers = try await startConsumers(only: "registry")
        let ios: JSONValue = ["token": "tok-ios-1", "type": "ios"]
        try produce([
            event("Application Opened", user: "u1", id: "r1", device: ios, secondsAgo: 30),
            event("Application Opened", user: "u1", id: "r2", device: ios, secondsAgo: 20),
            // The phone changed hands; u2's event may be read before u1's (another partition).
            event("Application Opened", user: "u2", id: "r3", device: ios, secondsAgo: 10),
            event("Application Opened", user: "u3", id: "r4", device: ["token": "tok-android-1", "type": "android"], secondsAgo: 5),
            event("Push Opt Out", user: "u3", id: "r5", device: ["token": "tok-android-1", "type": "android"], secondsAgo: 1),
            event("No Device", user: "u4", id: "r6"),
        ])
        let devices = try devices()
        // u2's sighting may be handled last (another partition): wait for it too.
        try await Await.condition("the registry to hold both devices, the Android one opted out, the iPhone u2's", timeout: .seconds(60)) {
            (try? devices.count(["pushEnabled": false])) == 1 && (try? devices.count([:])) == 2
                && (try? devices.count(["token": "tok-ios-1", "userId": "u2"])) == 1
        }
        let ios1 = try #require(try devices.find(["token": "tok-ios-1"]).first?.json)
        #expect(ios1["userId"] == "u2")
        #expect(ios1["platform"] == "ios")
        #expect(ios1["app"] == .string(app))
        #expect(ios1["pushEnabled"] == true)
        #expect(ios1["geo"]?["countryCode"] == "DE")
        #expect(try await consumers.terminate() == 0)
    }

    @Test func rulesTurnEventsIntoPushRequestsWithinTheCap() async throws {
        let rules = try writeRules(Self.rules)
        let consumers = try await startConsumers(rulesFile: rules)
        let ios: JSONValue = ["token": .string("tok-\(run)-ios"), "type": "ios"]
        let android: JSONValue = ["token": .string("tok-\(run)-android"), "type": "android"]
        // Register two devices of the buyer first.
        try produce([event("Application Opened", user: "buyer", id: "d1", device: ios), event("Application Opened", user: "buyer", id: "d2", device: android)])
        let devices = try devices()
        try await Await.condition("both devices registered", timeout: .seconds(60)) { (try? devices.count([:])) == 2 }

        // Five qualifying orders and one too small: the cap lets three through.
        var orders = (1...5).map { event("Order Completed", user: "buyer", id: "o\($0)", properties: ["total": .number(99.5), "orderId": .string("A\($0)")]) }
        orders.insert(event("Order Completed", user: "buyer", id: "small", properties: ["total": 10]), at: 2)
        try produce(orders)

        let apns = try KafkaCollector(topic: apnsTopic) { $0["app"] as? String == app }
        try await apns.collect(until: "three APNs push requests") { $0.messages.count >= 3 }
        let fcm = try KafkaCollector(topic: fcmTopic) { $0["app"] as? String == app }
        try await fcm.collect(until: "three FCM push requests") { $0.messages.count >= 3 }
        let first = try #require(apns.messages.first)
        #expect(first.json["title"] as? String == "Thanks Ada")
        #expect(first.json["body"] as? String == "Your order of 99.5 ships to Berlin")
        #expect((first.json["data"] as? [String: Any])?["orderId"] as? String == "A1")
        #expect(first.json["token"] as? String == "tok-\(run)-ios")
        #expect(String(decoding: first.message.key ?? [], as: UTF8.self) == "tok-\(run)-ios")
        #expect(first.json["rule"] as? String == "order-push")

        // The fourth and fifth orders were capped: wait for the counters to say
        // so, then make sure no fourth request arrived.
        try await Await.condition("two pushes capped") {
            PrometheusText.value(try await HTTP.get("\(consumers.baseURL)/metrics").text, "beacon_consumers_capped_total") == 2
        }
        try await apns.drain()
        #expect(apns.messages.count == 3)
        #expect(Set(apns.messages.compactMap { $0.json["sourceMessageId"] as? String }) == ["\(run)-o1", "\(run)-o2", "\(run)-o3"])
        // Each capped action is logged at info with its rule and user.
        let cappedLines = consumers.logLines(containing: "action capped")
        #expect(cappedLines.count == 2, "\(cappedLines)")
        for line in cappedLines {
            #expect(line.contains(#""level":"info""#) && line.contains(#""rule":"order-push""#), "\(line)")
        }
        #expect(try await consumers.terminate() == 0)
    }

    /// A webhook action becomes one request on the webhooks topic, with an
    /// id that names event, rule and action, and the rules consumer is done:
    /// it never calls the partner (the webhooks consumer does).
    @Test func webhookActionsBecomeRequestsOnTheWebhooksTopic() async throws {
        let webhooksTopic = "test.webhooks.\(run)"
        try KafkaAdmin.createTopics(brokers: try TestEnvironment.kafkaBrokers(), topics: [(webhooksTopic, 1)], timeoutMs: 10_000)
        let consumers = try await startConsumers(
            only: "registry,rules", rulesFile: try writeRules(Self.rules), extra: ["BEACON_KAFKA_WEBHOOK_TOPIC": webhooksTopic])
        try produce([event("Application Opened", user: "u", id: "device", device: ["token": .string("tok-\(run)-hook"), "type": "ios"])])
        let devices = try devices()
        try await Await.condition("the device registered", timeout: .seconds(60)) { (try? devices.count([:])) == 1 }
        try produce([event("Hook Me", user: "u", id: "hook"), event("Hook Later", user: "u", id: "later")])
        let requests = try KafkaCollector(topic: webhooksTopic) { ($0["id"] as? String)?.hasPrefix(run) == true }
        try await requests.collect(until: "both webhook requests") { $0.messages.count >= 2 }
        let byId = Dictionary(uniqueKeysWithValues: requests.messages.map { ($0.json["id"] as? String ?? "", $0.json) })
        let hook = try #require(byId["\(run)-hook:private-hook:1"])
        #expect(hook["url"] as? String == "http://127.0.0.1:9/hook")
        #expect(hook["source"] as? String == "rule")
        #expect(hook["rule"] as? String == "private-hook")
        #expect(hook["messageId"] as? String == "\(run)-hook")
        #expect(hook["app"] as? String == app)
        #expect(hook["method"] as? String == "POST")
        #expect((hook["body"] as? String)?.contains("\"event\":\"Hook Me\"") == true, "the default body is the event")
        #expect(byId["\(run)-later:unreachable-hook:1"] != nil)
        let pushes = try KafkaCollector(topic: apnsTopic) { ["\(run)-hook", "\(run)-later"].contains($0["sourceMessageId"] as? String ?? "") }
        try await pushes.collect(until: "the push requests") { $0.messages.count >= 2 }
        try await pushes.drain()
        #expect(pushes.messages.count == 2)
        #expect(try await consumers.terminate() == 0)
    }

    @Test func countersAnswerPerMinuteStats() async throws {
        let consumers = try await startConsumers(only: "counters")
        var events = (0..<4).map { event("Signed Up", user: "u\($0)", id: "c\($0)") }
        events.append(event("Order Completed", user: "u9", id: "c9", properties: ["total": 5]))
        // A group call whose traits carry a name is counted as a group.
        var group = event("", user: "u8", id: "c8", type: "group").objectValue ?? [:]
        group["event"] = nil
        group["name"] = "Acme Inc"
        events.append(.object(group))
        events.append(events[0])  // a redelivered duplicate is not counted twice
        try produce(events)
        try await Await.condition("/stats to count six events", timeout: .seconds(60)) {
            let stats = try await HTTP.get("\(consumers.baseURL)/stats?app=\(app)", headers: admin)
            return ((try? stats.json())?["totals"] as? [String: Any])?["total"] as? Int == 6
        }
        let totals = try #require(try await HTTP.get("\(consumers.baseURL)/stats?app=\(app)", headers: admin).json()["totals"] as? [String: Any])
        let byName = try #require(totals["events"] as? [String: Any])
        #expect(byName["Signed Up"] as? Int == 4 && byName["Order Completed"] as? Int == 1, "\(byName)")
        #expect(byName["group"] as? Int == 1 && byName["Acme Inc"] == nil, "\(byName)")
        #expect((totals["countries"] as? [String: Any])?["DE"] as? Int == 6)
        let missingApp = try await HTTP.get("\(consumers.baseURL)/stats", headers: admin)
        #expect(missingApp.status == 400)
        #expect(try await HTTP.get("\(consumers.baseURL)/stats?app=x&from=yesterday", headers: admin).status == 400)
        #expect(try await HTTP.get("\(consumers.baseURL)/stats?app=\(app)").status == 401, "no token")
        let metrics = try await HTTP.get("\(consumers.baseURL)/metrics").text
        #expect(metrics.contains("beacon_consumers_admin_unauthorized_total 1"), "\(metrics)")
        #expect(try await consumers.terminate() == 0)
    }

    @Test func aMalformedRulesFileStopsStartUpNamingRuleAndField() async throws {
        let rules = try writeRules("""
            rules:
              - name: fine
                match: {event: A}
                actions: [{push: {title: hi}}]
              - name: big-order
                match:
                  properties:
                    total: {gtx: 5}
                actions: [{push: {title: hi}}]
            """)
        let consumers = try await startConsumers(only: "rules", rulesFile: rules, extra: [:], waitForHealth: false)
        try await Await.condition("the consumers to refuse to start") { !consumers.isRunning }
        #expect(consumers.exitStatus != 0)
        #expect(consumers.logTail().contains(#"rule "big-order" (#2): match.properties.total: unknown operator "gtx""#))
    }
}

final class DeliveredCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
