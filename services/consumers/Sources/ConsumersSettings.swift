import BeaconCore
import BeaconRedis

/// Everything the consumers read from their configuration.
struct ConsumersSettings: Sendable {
    static let known = ["registry", "rules", "counters"]

    var host: String
    var port: Int
    var enabled: [String]
    var loop: ConsumerLoop.Settings
    var apnsTopic: String
    var fcmTopic: String
    var mongoURL: String
    var database: String
    var devicesCollection: String
    var redisURL: RedisURL
    var counterRetentionSeconds: Int
    var rulesFile: String?
    var webhookTimeout: Duration
    var webhooksAllowPrivate: Bool

    init(_ config: ServiceConfig, only: [String]) throws {
        host = config.string("http.host", default: "127.0.0.1")
        port = config.int("http.port", default: 8082)
        enabled = only.isEmpty ? config.strings("consumers.enabled", default: Self.known) : only
        for name in enabled where !Self.known.contains(name) {
            throw ConfigError.invalid(key: "consumers.enabled", reason: "unknown consumer '\(name)' (expected \(Self.known.joined(separator: ", ")))")
        }
        guard !enabled.isEmpty else { throw ConfigError.invalid(key: "consumers.enabled", reason: "enable at least one consumer") }
        let brokers = config.string("kafka.brokers", default: "127.0.0.1:9092")
        let sessionTimeout = config.int("kafka.sessionTimeoutMs", default: 10_000)
        loop = ConsumerLoop.Settings(
            brokers: brokers,
            topic: config.string("kafka.topic", default: "beacon.events"),
            failedTopic: config.string("kafka.failedTopic", default: "beacon.events.failed"),
            groupPrefix: config.string("kafka.groupPrefix", default: "beacon-"),
            maxAttempts: config.int("kafka.maxAttempts", default: 5),
            initialBackoff: .milliseconds(config.int("kafka.backoffMs", default: 200)),
            consumerProperties: [
                "session.timeout.ms": String(sessionTimeout),
                "heartbeat.interval.ms": String(max(100, sessionTimeout / 6)),
                "auto.offset.reset": config.string("kafka.autoOffsetReset", default: "earliest"),
                "fetch.wait.max.ms": String(config.int("kafka.fetchWaitMs", default: 50)),
                // Prefetched per consumer group, ahead of the handler (librdkafka's
                // default, 64 MiB, times three groups made the process's memory).
                "queued.max.messages.kbytes": String(config.int("kafka.queuedMaxKBytes", default: 8_192)),
            ]
        )
        apnsTopic = config.string("kafka.apnsTopic", default: "beacon.push.apns")
        fcmTopic = config.string("kafka.fcmTopic", default: "beacon.push.fcm")
        mongoURL = config.string("mongo.url", default: "mongodb://127.0.0.1:27017")
        database = config.string("mongo.database", default: "beacon")
        devicesCollection = config.string("mongo.devices", default: "devices")
        redisURL = try RedisURL(config.string("redis.url", default: "redis://127.0.0.1:6379"))
        counterRetentionSeconds = config.int("counters.retentionDays", default: 7) * 86_400
        rulesFile = config.optionalString("rules.file")
        webhookTimeout = .milliseconds(config.int("webhooks.timeoutMs", default: 5_000))
        webhooksAllowPrivate = config.bool("webhooks.allowPrivate", default: false)
    }
}
