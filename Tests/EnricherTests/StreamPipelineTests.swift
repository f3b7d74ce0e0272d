import BeaconCore
import BeaconGeoIP
import BeaconKafka
import BeaconRedis
import BeaconTestSupport
import Foundation
import Logging
import Testing
@testable import EnricherService

/// The enricher pipeline's step, in process, on the real Redis and Kafka:
/// entries are read, enriched, produced, and acknowledged in Redis only once
/// Kafka confirmed them; an invalid one goes to the invalid topic.
@Suite(.timeLimit(.minutes(2))) struct StreamPipelineTests {
    let run = UUID().uuidString.lowercased().prefix(8).description

    /// A pipeline over `stream` (group `<name>-<run>`, pages of 8) into the two topics, with its own sender.
    func makePipeline(
        name: String, brokers: String, redisURL: RedisURL, stream: String, topic: String, invalidTopic: String
    ) throws -> (StreamPipeline, KafkaSender) {
        let logger = Logger(label: "test")
        let sender = try KafkaSender(config: KafkaProducerConfig(brokers: brokers), name: name, drainTimeout: .seconds(5), logger: logger)
        let database = try GeoIPDatabase(path: try TestEnvironment.geoipDatabase())
        let pipeline = StreamPipeline(
            name: name, source: StreamSource.Settings(
                url: redisURL, stream: stream, group: "\(name)-\(run)", consumer: "c1", readCount: 8, blockMs: 10, claimIdleMs: 60_000,
                timeout: .seconds(2)),
            sender: sender,
            enricher: EventEnricher(geo: GeoEnrichment(database: database, cacheSize: 10), device: DeviceEnrichment(parser: try UserAgentParser(), cacheSize: 10)),
            settings: .init(topic: topic, invalidTopic: invalidTopic, maxInFlight: 1_000, claimInterval: .seconds(60)),
            metrics: EnricherMetrics(), context: ServiceContext(name: "enricher", logger: logger))
        return (pipeline, sender)
    }

    @Test func stepsMoveEntriesToKafkaAndAcknowledgeThemOnlyAfterDelivery() async throws {
        let brokers = try TestEnvironment.kafkaBrokers()
        let topic = "step.events.\(run)", invalidTopic = "step.invalid.\(run)", stream = "step:\(run)"
        try KafkaAdmin.createTopics(brokers: brokers, topics: [(topic, 2), (invalidTopic, 1)], timeoutMs: 10_000)
        let redisURL = try RedisURL(TestEnvironment.redisURL())
        let redis = RedisClient(url: redisURL)
        defer { _ = try? redis.command(["DEL", stream]) }
        let good = (0..<20).map { index -> [UInt8] in
            JSONWriter.bytes(["type": "track", "event": "Step", "userId": .string("u\(index % 3)"), "messageId": .string("\(run)-\(index)"),
                              "writeKey": "wk", "app": "shop", "receivedAt": "2026-12-01T10:00:00.000Z",
                              "context": ["ip": "81.2.69.160", "userAgent": "curl/8.0"]])
        }
        let invalid = JSONWriter.bytes(["type": "track", "messageId": .string("\(run)-bad"), "writeKey": "wk"])  // no event name, no user
        for value in good + [invalid] {
            _ = try redis.withConnection { connection throws(RedisError) in
                try connection.append([Array("XADD".utf8), Array(stream.utf8), Array("*".utf8), Array(StreamEntry.eventField.utf8), value])
                return try connection.readReply().checked()
            }
        }

        let (pipeline, sender) = try makePipeline(name: "step", brokers: brokers, redisURL: redisURL, stream: stream, topic: topic, invalidTopic: invalidTopic)
        var state = pipeline.makeState()

        // One step reads one page (8 entries) and produces it; nothing is acknowledged before Kafka says so.
        try pipeline.step(&state)
        #expect(state.forwarder.inFlight == 8)
        let pending = try redis.command(["XPENDING", stream, "step-\(run)"]).checked().elements?.first?.integer
        #expect(pending == 8)

        // Stepping on moves the rest and acknowledges (XACK + XDEL) as deliveries come back.
        try await Await.condition("every entry acknowledged and deleted", timeout: .seconds(60)) {
            try pipeline.step(&state)
            let length = try redis.command(["XLEN", stream]).checked().integer
            return state.forwarder.inFlight == 0 && length == 0
        }

        let events = try KafkaCollector(topic: topic) { ($0["messageId"] as? String)?.hasPrefix(run) == true }
        try await events.collect(messageIds: Set((0..<20).map { "\(run)-\($0)" }))
        #expect(events.duplicates == 0)
        let first = try #require(events.messages.first)
        #expect((first.json["enrichment"] as? [String: Any])?["geo"] != nil)
        #expect(String(decoding: first.message.key ?? [], as: UTF8.self).hasPrefix("wk:u"))
        let invalids = try KafkaCollector(topic: invalidTopic) { (($0["payload"] as? [String: Any])?["messageId"] as? String) == "\(run)-bad" }
        try await invalids.collect(until: "the invalid event") { !$0.messages.isEmpty }
        #expect((invalids.messages[0].json["reason"] as? String)?.isEmpty == false)
        await sender.close()
    }

    /// The tracker packs many events into one entry: every one of them is
    /// enriched and produced, and the entry is acknowledged only once Kafka
    /// confirmed them all; an invalid event in a packed entry goes to the
    /// invalid topic without holding up the others.
    @Test func packedEntriesAreForwardedWholeAndAcknowledgedOnce() async throws {
        let brokers = try TestEnvironment.kafkaBrokers()
        let topic = "packed.events.\(run)", invalidTopic = "packed.invalid.\(run)", stream = "packed:\(run)"
        try KafkaAdmin.createTopics(brokers: brokers, topics: [(topic, 2), (invalidTopic, 1)], timeoutMs: 10_000)
        let redisURL = try RedisURL(TestEnvironment.redisURL())
        let redis = RedisClient(url: redisURL)
        defer { _ = try? redis.command(["DEL", stream]) }
        func event(_ index: Int) -> [UInt8] {
            JSONWriter.bytes(["type": "track", "event": "Packed", "userId": .string("u\(index % 4)"), "messageId": .string("\(run)-\(index)"),
                              "writeKey": "wk", "app": "shop", "receivedAt": "2026-12-01T10:00:00.000Z",
                              "context": ["ip": "81.2.69.160", "userAgent": "curl/8.0"]])
        }
        let invalid = JSONWriter.bytes(["type": "track", "messageId": .string("\(run)-bad"), "writeKey": "wk"])
        // Entries of 30 events, 1 (the plain shape) and 5 with an invalid one among them.
        let entries: [[(String, [UInt8])]] = [
            (0..<30).map { (StreamEntry.packedField, event($0)) },
            [(StreamEntry.eventField, event(30))],
            (31..<35).map { (StreamEntry.packedField, event($0)) } + [(StreamEntry.packedField, invalid)],
        ]
        for fields in entries {
            _ = try redis.withConnection { connection throws(RedisError) in
                try connection.append([Array("XADD".utf8), Array(stream.utf8), Array("*".utf8)] + fields.flatMap { [Array($0.0.utf8), $0.1] })
                return try connection.readReply().checked()
            }
        }

        let (pipeline, sender) = try makePipeline(name: "packed", brokers: brokers, redisURL: redisURL, stream: stream, topic: topic, invalidTopic: invalidTopic)
        var state = pipeline.makeState()

        try pipeline.step(&state)
        #expect(state.forwarder.inFlight == 36, "every event of the three entries in flight")
        #expect(state.eventsPerEntry == 12, "36 events in 3 entries: the next read asks for room / 12 entries")
        try await Await.condition("every entry acknowledged and deleted", timeout: .seconds(60)) {
            try pipeline.step(&state)
            let length = try redis.command(["XLEN", stream]).checked().integer
            return state.forwarder.inFlight == 0 && length == 0
        }
        let events = try KafkaCollector(topic: topic) { ($0["messageId"] as? String)?.hasPrefix(run) == true }
        try await events.collect(messageIds: Set((0..<35).map { "\(run)-\($0)" }))
        #expect(events.duplicates == 0)
        let invalids = try KafkaCollector(topic: invalidTopic) { (($0["payload"] as? [String: Any])?["messageId"] as? String) == "\(run)-bad" }
        try await invalids.collect(until: "the invalid event") { !$0.messages.isEmpty }
        await sender.close()
    }
}
