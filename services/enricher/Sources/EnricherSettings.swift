import BeaconCore
import BeaconKafka
import BeaconRedis
import Foundation
import Hummingbird

/// Everything the enricher reads from its configuration.
public struct EnricherSettings: ServiceSettings {
    static let port = HTTPSettings.port(default: 8081, serves: "health, readiness and metrics")
    static let redisURLs = Setting<[String]>(
        "redis.urls", default: ["redis://127.0.0.1:6379"], "every tracker Redis to read; one pipeline each", check: SettingCheck.nonEmptyList)
    static let stream = Setting<String>("redis.stream", default: StreamEntry.defaultStream, "the stream the trackers write", check: SettingCheck.notEmpty)
    static let overflowStream = Setting<String>(
        "redis.overflowStream", default: StreamEntry.defaultStream + ":overflow",
        "the trackers' stream for users over their own rate, read by a paced pipeline of its own (empty: not read)")
    static let overflowRate = Setting<Int>(
        "redis.overflowEventsPerSecond", default: 1_000, "how fast each Redis's overflow stream is drained, at most",
        check: SettingCheck.positive)
    static let group = Setting<String>("redis.group", default: "beacon-enricher", "the Redis consumer group", check: SettingCheck.notEmpty)
    static let consumer = Setting<String>("redis.consumer", default: nil, "this enricher's name in the group (default: <hostname>-<pid>)")
    static let readCount = Setting<Int>("redis.readCount", default: 500, "entries read per XREADGROUP", check: SettingCheck.positive)
    static let blockMs = Setting<Int>("redis.blockMs", default: 500, "how long a read waits for new entries", check: SettingCheck.notNegative)
    static let claimIdleMs = Setting<Int>(
        "redis.claimIdleMs", default: 30_000, "entries another consumer left pending this long are taken over", check: SettingCheck.positive)
    static let claimIntervalMs = Setting<Int>(
        "redis.claimIntervalMs", default: 5_000, "how often abandoned entries are looked for", check: SettingCheck.positive)
    static let redisTimeoutMs = Setting<Int>("redis.timeoutMs", default: 2_000, "Redis connect, read and write timeout", check: SettingCheck.positive)
    static let brokers = Setting<String>("kafka.brokers", default: "127.0.0.1:9092", "Kafka bootstrap servers, host:port,…")
    static let topic = Setting<String>("kafka.topic", default: "beacon.events", "where enriched events go", check: SettingCheck.notEmpty)
    static let invalidTopic = Setting<String>(
        "kafka.invalidTopic", default: "beacon.events.invalid", "where events that fail validation go, with the reason", check: SettingCheck.notEmpty)
    static let compression = Setting<String>("kafka.compression", default: "lz4", "none, gzip, snappy, lz4 or zstd")
    static let lingerMs = Setting<Int>("kafka.lingerMs", default: 5, "how long librdkafka waits to fill a batch", check: SettingCheck.notNegative)
    static let messageTimeoutMs = Setting<Int>(
        "kafka.messageTimeoutMs", default: 30_000, "how long librdkafka tries to deliver one message before it reports a failure",
        check: SettingCheck.positive)
    static let maxInFlight = Setting<Int>("kafka.maxInFlight", default: 20_000, "events produced but not yet confirmed, at most", check: SettingCheck.positive)
    static let properties = Setting<[String]>("kafka.properties", default: [], "extra librdkafka properties, name=value")
    static let geoipDatabase = Setting<String>("geoip.database", default: nil, "a MaxMind City database; none: no enrichment.geo")
    static let geoipCacheSize = Setting<Int>(
        "geoip.cacheSize", default: 10_000, "lookups cached by address, misses included (least recently used out)", check: SettingCheck.notNegative)
    static let regexes = Setting<String>("device.regexes", default: UserAgentParser.defaultRegexesPath, "uap-core's regexes.yaml")
    static let deviceCacheSize = Setting<Int>(
        "device.cacheSize", default: 10_000, "device results cached by user agent", check: SettingCheck.notNegative)
    static let drain = ShutdownSettings.drainTimeout(
        default: 10_000, "how long SIGTERM waits for Kafka to confirm what is in flight before acknowledging it in Redis")

    public static let settings: [any SettingDescription] = HTTPSettings.settings(port: port) + [
        redisURLs, stream, overflowStream, overflowRate, MailTopics.stream, WebhookTopics.stream, group, consumer, readCount, blockMs,
        claimIdleMs, claimIntervalMs, redisTimeoutMs, brokers, topic, invalidTopic, MailTopics.topic, WebhookTopics.topic, compression, lingerMs, messageTimeoutMs, maxInFlight, properties,
        geoipDatabase, geoipCacheSize, regexes, deviceCacheSize, drain,
    ]

    let http: ApplicationConfiguration
    let sources: [StreamSource.Settings]
    /// One per Redis, for its overflow stream (none when that is switched off).
    let overflowSources: [StreamSource.Settings]
    let overflowPipeline: StreamPipeline.Settings
    /// One per Redis, for its mail stream.
    let mailSources: [StreamSource.Settings]
    /// Verbatim to `kafka.mailTopic`, keyed by registrationId.
    let mailPipeline: StreamPipeline.Settings
    /// One per Redis, for its webhook stream (postback jobs' requests).
    let webhookSources: [StreamSource.Settings]
    /// Verbatim to `kafka.webhookTopic`, keyed by the request id.
    let webhookPipeline: StreamPipeline.Settings
    let producer: KafkaProducerConfig
    let pipeline: StreamPipeline.Settings
    let geoipDatabase: String?
    let regexesPath: String
    let deviceCacheSize: Int
    let geoipCacheSize: Int
    public let drainTimeout: Duration

    public init(_ reader: SettingsReader) throws(SettingsError) {
        http = try HTTPSettings.read(reader, port: Self.port, serverName: "beacon-enricher")
        let consumer = try reader.optional(Self.consumer) ?? "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
        // One stream, group and pace for every Redis; only the URL differs.
        let stream = try reader(Self.stream), group = try reader(Self.group), readCount = try reader(Self.readCount)
        let blockMs = try reader(Self.blockMs), claimIdleMs = try reader(Self.claimIdleMs), timeout = try reader(Self.redisTimeoutMs).milliseconds
        sources = try RedisURL.list(setting: Self.redisURLs, in: reader).map { url in
            StreamSource.Settings(url: url, stream: stream, group: group, consumer: consumer, readCount: readCount, blockMs: blockMs,
                                  claimIdleMs: claimIdleMs, timeout: timeout)
        }
        let overflowStream = try reader(Self.overflowStream)
        overflowSources = overflowStream.isEmpty ? [] : sources.map { source in
            var overflow = source
            overflow.stream = overflowStream
            return overflow
        }
        producer = KafkaProducerConfig(
            brokers: try reader(Self.brokers), clientId: "beacon-enricher", compression: try reader(Self.compression),
            lingerMs: try reader(Self.lingerMs), messageTimeoutMs: try reader(Self.messageTimeoutMs),
            extra: try KafkaProperties.parse(reader(Self.properties), key: Self.properties.key))
        pipeline = StreamPipeline.Settings(
            topic: try reader(Self.topic), invalidTopic: try reader(Self.invalidTopic), maxInFlight: try reader(Self.maxInFlight),
            claimInterval: try reader(Self.claimIntervalMs).milliseconds)
        let mail = try Self.verbatim(
            stream: MailTopics.stream, topic: MailTopics.topic, keyField: "registrationId", sources: sources, pipeline: pipeline, reader)
        mailSources = mail.sources
        mailPipeline = mail.pipeline
        let webhooks = try Self.verbatim(
            stream: WebhookTopics.stream, topic: WebhookTopics.topic, keyField: "id", sources: sources, pipeline: pipeline, reader)
        webhookSources = webhooks.sources
        webhookPipeline = webhooks.pipeline
        var overflowPipeline = pipeline
        overflowPipeline.pace = Double(try reader(Self.overflowRate))
        self.overflowPipeline = overflowPipeline
        geoipDatabase = try reader.optional(Self.geoipDatabase)
        geoipCacheSize = try reader(Self.geoipCacheSize)
        regexesPath = try reader(Self.regexes)
        deviceCacheSize = try reader(Self.deviceCacheSize)
        drainTimeout = try reader(Self.drain).milliseconds
    }

    /// A stream every Redis has, forwarded as it is to a topic of its own,
    /// keyed by one of its fields: each Redis's events source, another stream.
    private static func verbatim(
        stream: Setting<String>, topic: Setting<String>, keyField: String, sources: [StreamSource.Settings],
        pipeline: StreamPipeline.Settings, _ reader: SettingsReader
    ) throws(SettingsError) -> (sources: [StreamSource.Settings], pipeline: StreamPipeline.Settings) {
        let name = try reader(stream)
        guard !name.isEmpty else { throw .invalid(key: stream.key, value: "", reason: "must not be empty") }
        var forwarded = pipeline
        forwarded.topic = try reader(topic)
        guard !forwarded.topic.isEmpty else { throw .invalid(key: topic.key, value: "", reason: "must not be empty") }
        forwarded.mode = .verbatim(keyField: keyField)
        return (sources.map { source in
            var other = source
            other.stream = name
            return other
        }, forwarded)
    }
}
