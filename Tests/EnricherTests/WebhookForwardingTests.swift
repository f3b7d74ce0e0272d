import BeaconCore
import BeaconKafka
import BeaconRedis
import BeaconTestSupport
import Foundation
import Logging
import Testing
@testable import EnricherService

/// The webhook stream (postback jobs' requests, written by the tracker)
/// forwarded as the mail stream is, on the real Redis and Kafka: each entry
/// reaches the webhook topic byte for byte, keyed by its request id, and is
/// acknowledged in Redis only once Kafka confirmed it.
@Suite(.timeLimit(.minutes(2))) struct WebhookForwardingTests {
    let run = UUID().uuidString.lowercased().prefix(8).description

    @Test func webhookEntriesArriveVerbatimKeyedById() async throws {
        let brokers = try TestEnvironment.kafkaBrokers()
        let topic = "webhooks.\(run)", invalidTopic = "webhooks.invalid.\(run)", stream = "webhooks:\(run)"
        try KafkaAdmin.createTopics(brokers: brokers, topics: [(topic, 3), (invalidTopic, 1)], timeoutMs: 10_000)
        let redisURL = try RedisURL(TestEnvironment.redisURL())
        let redis = RedisClient(url: redisURL)
        defer { _ = try? redis.command(["DEL", stream]) }

        // The settings the enricher runs with, on this test's stream and topics.
        let settings = try EnricherSettings(try await SettingsReader(file: nil, environment: [
            "BEACON_REDIS_URLS": try TestEnvironment.redisURL(), "BEACON_REDIS_WEBHOOK_STREAM": stream, "BEACON_KAFKA_WEBHOOK_TOPIC": topic,
            "BEACON_KAFKA_INVALID_TOPIC": invalidTopic, "BEACON_REDIS_READ_COUNT": "4", "BEACON_REDIS_BLOCK_MS": "10",
            "BEACON_REDIS_GROUP": "webhooks-\(run)", "BEACON_REDIS_CONSUMER": "c1",
        ]))
        let source = try #require(settings.webhookSources.first)

        let job = "\(run)-job"
        var values = (0..<5).map { index in
            JSONWriter.bytes(WebhookRequest(
                id: "\(job):\(index)", app: "shop", source: .postback(jobId: job, index: index), method: "POST",
                url: "https://api.partner.example/cb?i=\(index)", headers: [.init(name: "Content-Type", value: "application/json")],
                body: #"{"i":\#(index)}"#, createdAt: "2026-12-02T10:00:00.000Z").json)
        }
        // Spacing and key order as some writer left them: what goes out must be these very bytes.
        values[2] = Array(#"{ "id": "\#(job):2",  "app": "shop", "source": "postback", "odd": [1, 2.50] }"#.utf8)
        for value in values {
            _ = try redis.withConnection { connection throws(RedisError) in
                try connection.append([Array("XADD".utf8), Array(stream.utf8), Array("*".utf8), Array(StreamEntry.eventField.utf8), value])
                return try connection.readReply().checked()
            }
        }

        let logger = Logger(label: "test")
        let sender = try KafkaSender(config: KafkaProducerConfig(brokers: brokers), name: "webhooks", drainTimeout: .seconds(5), logger: logger)
        let pipeline = StreamPipeline(
            name: "webhooks", source: source, sender: sender,
            enricher: EventEnricher(geo: nil, device: DeviceEnrichment(parser: try UserAgentParser(), cacheSize: 10)),
            settings: settings.webhookPipeline, metrics: EnricherMetrics(), context: ServiceContext(name: "enricher", logger: logger))
        var state = pipeline.makeState()

        try pipeline.step(&state)
        #expect(state.forwarder.inFlight == 4, "nothing acknowledged before Kafka confirmed it")
        try await Await.condition("every entry acknowledged and deleted", timeout: .seconds(60)) {
            try pipeline.step(&state)
            let length = try redis.command(["XLEN", stream]).checked().integer
            return state.forwarder.inFlight == 0 && length == 0
        }

        let forwarded = try KafkaCollector(topic: topic) { ($0["id"] as? String)?.hasPrefix(job) == true }
        try await forwarded.collect(until: "the five webhook requests") { $0.messages.count >= values.count }
        #expect(Set(forwarded.messages.map(\.message.value)) == Set(values), "forwarded byte for byte")
        for (message, json) in forwarded.messages {
            #expect(message.key.map { String(decoding: $0, as: UTF8.self) } == json["id"] as? String)
        }
        let read = try forwarded.messages.filter { $0.json["id"] as? String == "\(job):0" }.map {
            try WebhookRequest(json: try JSONParser.parse($0.message.value))
        }
        #expect(read.first?.url == "https://api.partner.example/cb?i=0" && read.first?.source == .postback(jobId: job, index: 0))
        await sender.close()
    }

    @Test func theEnricherReadsEachRedisWebhookStreamIntoTheWebhookTopic() async throws {
        let settings = try EnricherSettings(try await SettingsReader(file: nil, environment: [
            "BEACON_REDIS_URLS": "redis://127.0.0.1:1,redis://127.0.0.1:2",
        ]))
        #expect(settings.webhookSources.map(\.stream) == ["beacon:webhooks", "beacon:webhooks"])
        #expect(settings.webhookSources.map(\.url) == settings.sources.map(\.url))
        #expect(settings.webhookPipeline.topic == "beacon.webhooks")
        #expect(settings.webhookPipeline.mode == .verbatim(keyField: "id"))
        #expect(settings.mailPipeline.mode == .verbatim(keyField: "registrationId"))
        #expect(settings.mailSources.map(\.stream) == ["beacon:mail", "beacon:mail"])
    }
}
