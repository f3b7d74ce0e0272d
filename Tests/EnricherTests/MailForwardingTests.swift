import BeaconCore
import BeaconKafka
import BeaconRedis
import BeaconTestSupport
import Foundation
import Logging
import Testing
@testable import EnricherService

/// The enricher's verbatim mode, in process, on the real Redis and Kafka:
/// mail registration entries reach the mail topic byte for byte, keyed by
/// registrationId, and are acknowledged in Redis only once Kafka confirmed
/// them; an entry that is not JSON or has no registrationId goes to the
/// invalid topic with the reason.
@Suite(.timeLimit(.minutes(2))) struct MailForwardingTests {
    let run = UUID().uuidString.lowercased().prefix(8).description

    @Test func mailEntriesArriveVerbatimKeyedByRegistrationId() async throws {
        let brokers = try TestEnvironment.kafkaBrokers()
        let topic = "mail.registrations.\(run)", invalidTopic = "mail.invalid.\(run)", stream = "mail:\(run)"
        try KafkaAdmin.createTopics(brokers: brokers, topics: [(topic, 3), (invalidTopic, 1)], timeoutMs: 10_000)
        let redisURL = try RedisURL(TestEnvironment.redisURL())
        let redis = RedisClient(url: redisURL)
        defer { _ = try? redis.command(["DEL", stream]) }

        let messages: [MailRegistrationMessage] = (0..<6).map { index in
            let id = "\(run)-reg-\(index % 3)"
            switch index {
            case 0..<3:
                return .register(MailRegistration(
                    registrationId: id, app: "shop", deviceToken: "token-\(index)", platform: .ios, sealedAccount: "v1.0011223344556677.AAAA.AAAA",
                    notification: MailNotification(), expiresAt: "2026-12-03T10:00:00.000Z", receivedAt: "2026-12-01T10:00:00.000Z"))
            case 3, 4: return .pause(registrationId: id, app: "shop", until: "2026-12-01T11:00:00.000Z", receivedAt: "2026-12-01T10:00:01.000Z")
            default: return .stop(registrationId: id, app: "shop", receivedAt: "2026-12-01T10:00:02.000Z")
            }
        }
        // Spacing and key order as the writer left them: what goes out must be these very bytes.
        var values = messages.map { JSONWriter.bytes($0.json) }
        values[1] = Array(#"{ "type": "register",  "registrationId": "\#(run)-reg-1", "app": "shop", "odd": [1, 2.50] }"#.utf8)
        let bad = [Array("not json \(run)".utf8), Array(#"{"type":"stop","app":"shop","run":"\#(run)"}"#.utf8)]
        for value in values + bad {
            _ = try redis.withConnection { connection throws(RedisError) in
                try connection.append([Array("XADD".utf8), Array(stream.utf8), Array("*".utf8), Array(StreamEntry.eventField.utf8), value])
                return try connection.readReply().checked()
            }
        }

        let logger = Logger(label: "test")
        let sender = try KafkaSender(config: KafkaProducerConfig(brokers: brokers), name: "mail", drainTimeout: .seconds(5), logger: logger)
        let pipeline = StreamPipeline(
            name: "mail", source: StreamSource.Settings(
                url: redisURL, stream: stream, group: "mail-\(run)", consumer: "c1", readCount: 4, blockMs: 10, claimIdleMs: 60_000,
                timeout: .seconds(2)),
            sender: sender,
            enricher: EventEnricher(geo: nil, device: DeviceEnrichment(parser: try UserAgentParser(), cacheSize: 10)),
            settings: .init(mode: .verbatim(keyField: "registrationId"), topic: topic, invalidTopic: invalidTopic, maxInFlight: 1_000,
                            claimInterval: .seconds(60)),
            metrics: EnricherMetrics(), context: ServiceContext(name: "enricher", logger: logger))
        var state = pipeline.makeState()

        // Nothing is acknowledged before Kafka confirmed it.
        try pipeline.step(&state)
        #expect(state.forwarder.inFlight == 4)
        #expect(try redis.command(["XPENDING", stream, "mail-\(run)"]).checked().elements?.first?.integer == 4)
        try await Await.condition("every entry acknowledged and deleted", timeout: .seconds(60)) {
            try pipeline.step(&state)
            let length = try redis.command(["XLEN", stream]).checked().integer
            return state.forwarder.inFlight == 0 && length == 0
        }
        #expect(try redis.command(["XPENDING", stream, "mail-\(run)"]).checked().elements?.first?.integer == 0)

        let forwarded = try KafkaCollector(topic: topic) { ($0["registrationId"] as? String)?.hasPrefix(run) == true }
        try await forwarded.collect(until: "the six mail messages") { $0.messages.count >= values.count }
        #expect(Set(forwarded.messages.map(\.message.value)) == Set(values), "forwarded byte for byte")
        for (message, json) in forwarded.messages {
            #expect(message.key.map { String(decoding: $0, as: UTF8.self) } == json["registrationId"] as? String)
        }
        // One registration's changes share a key, hence a partition, in the order written.
        let first = forwarded.messages.filter { $0.json["registrationId"] as? String == "\(run)-reg-0" }
        #expect(Set(first.map(\.message.partition)).count == 1)
        #expect(first.map { $0.json["type"] as? String } == ["register", "defer"])

        let invalid = try KafkaCollector(topic: invalidTopic) { _ in true }
        try await invalid.collect(until: "the two bad entries") { $0.messages.count >= 2 }
        let reasons = invalid.messages.compactMap { $0.json["reason"] as? String }
        #expect(reasons.contains { $0.hasPrefix("malformed JSON") }, "\(reasons)")
        #expect(reasons.contains { $0.contains("registrationId") }, "\(reasons)")
        #expect(invalid.messages.contains { ($0.json["payload"] as? String)?.contains(run) == true })
        await sender.close()
    }

    @Test func theEnricherReadsEachRedisMailStreamIntoTheMailTopic() async throws {
        let settings = try EnricherSettings(try await SettingsReader(file: nil, environment: [
            "BEACON_REDIS_URLS": "redis://127.0.0.1:1,redis://127.0.0.1:2",
        ]))
        #expect(settings.mailSources.map(\.stream) == ["beacon:mail", "beacon:mail"])
        #expect(settings.mailSources.map(\.url) == settings.sources.map(\.url))
        #expect(settings.mailPipeline.topic == "beacon.mail.registrations")
        #expect(settings.mailPipeline.mode == .verbatim(keyField: "registrationId"))
        #expect(settings.pipeline.mode == .enrich)
    }
}
