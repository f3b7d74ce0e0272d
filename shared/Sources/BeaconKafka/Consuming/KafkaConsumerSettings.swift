import BeaconCore

/// The `kafka.*` keys every service that consumes reads, made into a
/// consumer loop's librdkafka properties.
public struct KafkaConsumerSettings: Sendable {
    public enum OffsetReset: String, SettingChoice {
        case earliest, latest
    }

    public static let brokers = Setting<String>("kafka.brokers", default: "127.0.0.1:9092", "Kafka bootstrap servers, host:port,…")
    public static let sessionTimeoutMs = Setting<Int>(
        "kafka.sessionTimeoutMs", default: 10_000, "consumer group session timeout (group joins take about half of it)",
        check: SettingCheck.range(1_000...300_000))
    public static let autoOffsetReset = Setting<OffsetReset>(
        "kafka.autoOffsetReset", default: .earliest, "where a new consumer group starts: earliest (everything kept) or latest")
    public static let fetchWaitMs = Setting<Int>(
        "kafka.fetchWaitMs", default: 50, "how long a fetch may wait for data (ms)", check: SettingCheck.range(0...10_000))
    public static let queuedMaxKBytes = Setting<Int>(
        "kafka.queuedMaxKBytes", default: 8_192, "how much each consumer group fetches ahead of its handler (KiB)", check: SettingCheck.positive)

    public static let settings: [any SettingDescription] = [brokers, sessionTimeoutMs, autoOffsetReset, fetchWaitMs, queuedMaxKBytes]

    public var brokers: String
    public var properties: [String: String]

    public init(brokers: String, properties: [String: String]) {
        self.brokers = brokers
        self.properties = properties
    }

    public init(_ reader: SettingsReader) throws(SettingsError) {
        brokers = try reader(Self.brokers)
        let sessionTimeout = try reader(Self.sessionTimeoutMs)
        properties = [
            "session.timeout.ms": String(sessionTimeout),
            "heartbeat.interval.ms": String(max(100, sessionTimeout / 6)),
            "auto.offset.reset": try reader(Self.autoOffsetReset).rawValue,
            "fetch.wait.max.ms": String(try reader(Self.fetchWaitMs)),
            // Prefetched per consumer group, ahead of the handler (librdkafka's
            // default, 64 MiB, times three groups made the process's memory).
            "queued.max.messages.kbytes": String(try reader(Self.queuedMaxKBytes)),
        ]
    }

    public func loop(_ subscription: KafkaSubscription) -> KafkaConsumerLoop.Settings {
        KafkaConsumerLoop.Settings(brokers: brokers, subscription: subscription, properties: properties)
    }
}
