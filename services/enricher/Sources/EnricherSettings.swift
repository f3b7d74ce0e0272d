import BeaconCore
import BeaconKafka
import BeaconRedis
import Foundation

/// Everything the enricher reads from its configuration.
struct EnricherSettings: Sendable {
    var host: String
    var port: Int
    var sources: [StreamSource.Settings]
    var producer: KafkaProducerConfig
    var pipeline: StreamPipeline.Settings
    var geoipDatabase: String?
    var regexesPath: String
    var deviceCacheSize: Int
    var geoipCacheSize: Int

    init(_ config: ServiceConfig) throws {
        host = config.string("http.host", default: "127.0.0.1")
        port = config.int("http.port", default: 8081)
        let urls = config.strings("redis.urls", default: ["redis://127.0.0.1:6379"])
        let hostname = ProcessInfo.processInfo.hostName
        let consumer = config.optionalString("redis.consumer") ?? "\(hostname)-\(ProcessInfo.processInfo.processIdentifier)"
        sources = try urls.map { url in
            StreamSource.Settings(
                url: try RedisURL(url),
                stream: config.string("redis.stream", default: StreamEntry.defaultStream),
                group: config.string("redis.group", default: "beacon-enricher"),
                consumer: consumer,
                readCount: config.int("redis.readCount", default: 500),
                blockMs: config.int("redis.blockMs", default: 500),
                claimIdleMs: config.int("redis.claimIdleMs", default: 30_000),
                timeout: .milliseconds(config.int("redis.timeoutMs", default: 2_000))
            )
        }
        guard !sources.isEmpty else { throw ConfigError.invalid(key: "redis.urls", reason: "at least one Redis URL is needed") }
        var extra: [String: String] = [:]
        for entry in config.strings("kafka.properties", default: []) {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ConfigError.invalid(key: "kafka.properties", reason: "'\(entry)' is not name=value") }
            extra[parts[0]] = parts[1]
        }
        producer = KafkaProducerConfig(
            brokers: config.string("kafka.brokers", default: "127.0.0.1:9092"),
            clientId: "beacon-enricher",
            compression: config.string("kafka.compression", default: "lz4"),
            lingerMs: config.int("kafka.lingerMs", default: 5),
            messageTimeoutMs: config.int("kafka.messageTimeoutMs", default: 30_000),
            extra: extra
        )
        pipeline = StreamPipeline.Settings(
            topic: config.string("kafka.topic", default: "beacon.events"),
            invalidTopic: config.string("kafka.invalidTopic", default: "beacon.events.invalid"),
            maxInFlight: config.int("kafka.maxInFlight", default: 20_000),
            claimInterval: .milliseconds(config.int("redis.claimIntervalMs", default: 5_000)),
            drainTimeoutMs: Int32(config.int("kafka.drainTimeoutMs", default: 10_000))
        )
        geoipDatabase = config.optionalString("geoip.database")
        geoipCacheSize = config.int("geoip.cacheSize", default: 10_000)
        regexesPath = config.string("device.regexes", default: UserAgentParser.defaultRegexesPath)
        deviceCacheSize = config.int("device.cacheSize", default: 10_000)
    }
}
