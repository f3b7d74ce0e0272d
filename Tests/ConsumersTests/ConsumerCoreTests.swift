import BeaconCore
import BeaconKafka
import BeaconRedis
import BeaconTestSupport
import Foundation
import Logging
import Synchronization
import Testing
@testable import ConsumersService

/// The consumer loop's decisions (retry, park, store the offset) and the
/// frequency caps, on the real Kafka and Redis.
@Suite(.timeLimit(.minutes(3))) struct ConsumerCoreTests {
    let run = UUID().uuidString.lowercased().prefix(8).description
    static let logger = Logger(label: "test")

    // MARK: Retry and park decisions

    @Test func permanentFailuresAreParkedAtOnce() {
        let policy = ActionRetryPolicy(maxAttempts: 5, initialBackoff: .milliseconds(200))
        #expect(policy.decide(after: 1, failure: .permanent) == .park)
    }

    @Test func transientFailuresAreRetriedWithGrowingBackoffUntilTheAttemptsRunOut() {
        let policy = ActionRetryPolicy(maxAttempts: 4, initialBackoff: .milliseconds(200), maxBackoff: .milliseconds(500))
        #expect(policy.decide(after: 1, failure: .transient, jitter: 1) == .retry(after: .milliseconds(200)))
        #expect(policy.decide(after: 2, failure: .transient, jitter: 1) == .retry(after: .milliseconds(400)))
        #expect(policy.decide(after: 3, failure: .transient, jitter: 0.5) == .retry(after: .milliseconds(250)))  // capped at 500, halved
        #expect(policy.decide(after: 4, failure: .transient) == .park)
        #expect(ActionRetryPolicy(maxAttempts: 1, initialBackoff: .seconds(1)).decide(after: 1, failure: .transient) == .park)
    }

    @Test func errorsSayTheirKind() {
        #expect(RedisError.connection("refused").failureKind == .transient)
        #expect(RedisError.server("WRONGTYPE Operation against a key").failureKind == .permanent)
        #expect(ServiceError.permanent("no").isPermanent)
        struct Unknown: Error {}
        #expect(Unknown().failureKind == .transient, "an error that does not say is retried, never dropped")
    }

    // MARK: The loop on a real topic

    /// Fails as scripted per event name, counting its calls.
    final class ScriptedHandler: EventHandler {
        let name = "scripted"
        let calls = Mutex<[String: Int]>([:])

        func handle(_ event: JSONValue, message: KafkaMessage) throws {
            let name = event["event"]?.stringValue ?? ""
            let call = calls.withLock { calls -> Int in
                calls[name, default: 0] += 1
                return calls[name]!
            }
            switch name {
            case "refused": throw ServiceError.permanent("refused for good")
            case "flaky" where call < 3: throw ServiceError.transient("not yet")
            case "down": throw ServiceError.transient("still down")
            default: return
            }
        }

        func count(_ name: String) -> Int { calls.withLock { $0[name] ?? 0 } }
    }

    @Test func theLoopRetriesParksAndMovesOnAsDecided() async throws {
        let brokers = try TestEnvironment.kafkaBrokers()
        let topic = "core.events.\(run)", failedTopic = "core.failed.\(run)"
        try KafkaAdmin.createTopics(brokers: brokers, topics: [(topic, 1), (failedTopic, 1)], timeoutMs: 10_000)
        let sender = try KafkaSender(config: KafkaProducerConfig(brokers: brokers), name: "test", drainTimeout: .seconds(5), logger: Self.logger)
        let handler = ScriptedHandler()
        let readiness = Readiness()
        let consumer = EventConsumer(
            handler: handler, policy: ActionRetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(20)),
            failed: FailedEventWriter(sender: sender, topic: failedTopic), logger: Self.logger)
        var settings = KafkaConsumerLoop.Settings(
            brokers: brokers, subscription: .group("core-\(run)", topics: [topic]),
            properties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"])
        settings.pollTimeoutMs = 100
        let loop = LoopThread(
            KafkaConsumerLoop(name: "core", settings: settings, handler: consumer,
                              readiness: ReadinessCondition("kafka", in: readiness, logger: Self.logger), logger: Self.logger),
            drainTimeout: .seconds(5), logger: Self.logger)
        try await Await.condition("the loop to hold its partition", timeout: .seconds(30)) { readiness.isReady }

        let events = ["ok", "refused", "flaky", "down", "ok-after"].map { name -> OutgoingMessage in
            OutgoingMessage(topic: topic, key: "k", value: JSONWriter.bytes(["event": .string(name), "messageId": .string("\(run)-\(name)")]))
        } + [OutgoingMessage(topic: topic, key: "k", value: Array("not json".utf8))]
        try await sender.send(events)

        let failed = try KafkaCollector(topic: failedTopic) { _ in true }
        try await failed.collect(until: "three parked events") { $0.messages.count >= 3 }
        let parked = Dictionary(uniqueKeysWithValues: failed.messages.map { entry in
            (((entry.json["event"] as? [String: Any])?["event"] as? String) ?? "raw", entry.json)
        })
        #expect(parked["refused"]?["attempts"] as? Int == 1, "a permanent failure is parked at once")
        #expect(parked["down"]?["attempts"] as? Int == 3, "a transient one after every attempt")
        #expect(parked["raw"]?["error"] as? String == "not a JSON object")
        #expect(parked["flaky"] == nil, "a failure that went away is not parked")
        #expect(handler.count("refused") == 1 && handler.count("flaky") == 3 && handler.count("down") == 3)
        try await Await.condition("the last event to be handled") { handler.count("ok-after") == 1 }

        // Offsets were stored as events were done with: a new member of the group starts after them.
        #expect(await loop.stop() == .finished)
        let committed = try KafkaConsumer(brokers: brokers, groupId: "core-\(run)").committedOffset(topic: topic, partition: 0)
        #expect(committed == 6)
        await sender.close()
    }

    // MARK: Frequency caps

    @Test func capsAdmitUpToTheirMaximumPerWindowAndCountARedeliveryOnce() throws {
        let caps = FrequencyCapStore(redis: RedisClient(url: try RedisURL(TestEnvironment.redisURL())))
        let key = "beacon:cap:test:\(run)", start = Date()
        #expect(try caps.admit(key: key, member: "m1", max: 2, windowSeconds: 60, now: start))
        #expect(try caps.admit(key: key, member: "m2", max: 2, windowSeconds: 60, now: start.addingTimeInterval(1)))
        #expect(try !caps.admit(key: key, member: "m3", max: 2, windowSeconds: 60, now: start.addingTimeInterval(2)))
        // m1 again (an event redelivered after a crash) passes without counting twice.
        #expect(try caps.admit(key: key, member: "m1", max: 2, windowSeconds: 60, now: start.addingTimeInterval(3)))
        // Once m1's window has passed, there is room for one more.
        #expect(try caps.admit(key: key, member: "m4", max: 2, windowSeconds: 60, now: start.addingTimeInterval(60.5)))
        #expect(try !caps.admit(key: key, member: "m5", max: 2, windowSeconds: 60, now: start.addingTimeInterval(60.6)))
        // Another user's key counts apart.
        #expect(try caps.admit(key: key + ":other", member: "m5", max: 2, windowSeconds: 60, now: start))
    }

    @Test func capsFailTransientlyWhileRedisIsAway() {
        let caps = FrequencyCapStore(redis: RedisClient(url: try! RedisURL("redis://127.0.0.1:1"), timeout: .milliseconds(200)))
        let error = #expect(throws: RedisError.self) { try caps.admit(key: "k", member: "m", max: 1, windowSeconds: 1) }
        #expect(error?.failureKind == .transient)
    }
}
