import Foundation
import BeaconCore
import BeaconKafka
import BeaconMongo
import BeaconRedis
import Hummingbird

/// Everything the consumers read from their configuration.
public struct ConsumersSettings: ServiceSettings {
    enum Consumer: String, CaseIterable, Sendable {
        case registry, rules, counters, webhooks
    }

    static let port = HTTPSettings.port(default: 8082, serves: "health, readiness, metrics and GET /stats")
    static let enabledConsumers = Setting<[String]>(
        "consumers.enabled", default: Consumer.allCases.map(\.rawValue),
        "which consumers this process runs (--only wins); each is its own Kafka consumer group", check: SettingCheck.nonEmptyList)
    static let topic = Setting<String>("kafka.topic", default: "beacon.events", "the events consumed", check: SettingCheck.notEmpty)
    static let failedTopic = Setting<String>(
        "kafka.failedTopic", default: "beacon.events.failed", "where an event goes, with its error, when its action failed for good")
    static let groupPrefix = Setting<String>("kafka.groupPrefix", default: "beacon-", "consumer groups are <groupPrefix><consumer>")
    static let maxAttempts = Setting<Int>(
        "kafka.maxAttempts", default: 5, "attempts of a transiently failing action before the event is parked", check: SettingCheck.range(1...100))
    static let backoffMs = Setting<Int>("kafka.backoffMs", default: 200, "backoff before the first retry; it doubles", check: SettingCheck.positive)
    static let redisURL = Setting<String>("redis.url", default: "redis://127.0.0.1:6379", "counters and frequency caps")
    static let retentionDays = Setting<Int>(
        "counters.retentionDays", default: 7, "how long counts (and counted messageIds) are kept", check: SettingCheck.range(1...3_650))
    static let rulesFile = Setting<String>("rules.file", default: nil, "the rules (see rules.example.yaml); none: no rules")
    static let adminTokens = Setting<[String]>(
        "consumers.adminTokens", default: nil, "bearer tokens of the admin routes (/stats, /requests, /errors, /webhooks/{id}); none: they answer 503",
        secret: true)
    static let adminTokensFile = Setting<String>(
        "consumers.adminTokensFile", default: nil, "a file of more admin tokens, one a line (e.g. a mounted Kubernetes secret)")
    static let webhookLogCollection = Setting<String>(
        "webhooks.logCollection", default: "webhook_attempts", "the webhook delivery log's MongoDB collection", check: SettingCheck.notEmpty)
    static let webhookLogRetentionDays = Setting<Int>(
        "webhooks.logRetentionDays", default: 7, "how long the delivery log keeps an attempt (a TTL index)", check: SettingCheck.range(1...3_650))
    static let drain = ShutdownSettings.drainTimeout(default: 10_000, "how long SIGTERM waits for each consumer to finish the event in hand")

    public static let settings: [any SettingDescription] = HTTPSettings.settings(port: port) + [enabledConsumers]
        + KafkaConsumerSettings.settings + [topic, failedTopic] + PushTopics.descriptions + [groupPrefix, maxAttempts, backoffMs]
        + MongoSettings.settings + [redisURL, retentionDays, rulesFile] + WebhookSettings.settings + [drain]
        + [adminTokens, adminTokensFile, webhookLogCollection, webhookLogRetentionDays]

    let http: ApplicationConfiguration
    private let configuredConsumers: [String]
    let kafka: KafkaConsumerSettings
    /// What is consumed, where failed events and push requests go, and the groups' names.
    let topic: String, failedTopic: String, pushTopics: [PushPlatform: String], groupPrefix: String
    let retry: ActionRetryPolicy
    let mongo: MongoSettings
    let redisURL: RedisURL
    let counterRetentionSeconds: Int
    let rulesFile: String?
    let webhooks: WebhookSettings
    public let drainTimeout: Duration
    /// The admin routes' tokens (AdminTokens reads the file), and the delivery log's collection and retention.
    let adminTokens: [String], adminTokensFile: String?
    let webhookLogCollection: String, webhookLogRetentionDays: Int

    public init(_ reader: SettingsReader) throws(SettingsError) {
        http = try HTTPSettings.read(reader, port: Self.port, serverName: "beacon-consumers")
        configuredConsumers = try reader(Self.enabledConsumers)
        _ = try Self.consumers(configuredConsumers, key: Self.enabledConsumers.key)
        kafka = try KafkaConsumerSettings(reader)
        topic = try reader(Self.topic)
        failedTopic = try reader(Self.failedTopic)
        pushTopics = try PushTopics.read(reader)
        groupPrefix = try reader(Self.groupPrefix)
        retry = ActionRetryPolicy(maxAttempts: try reader(Self.maxAttempts), initialBackoff: try reader(Self.backoffMs).milliseconds)
        mongo = try MongoSettings(reader)
        redisURL = try RedisURL(setting: Self.redisURL, in: reader)
        counterRetentionSeconds = try reader(Self.retentionDays) * 86_400
        rulesFile = try reader.optional(Self.rulesFile)
        webhooks = try WebhookSettings(reader)
        drainTimeout = try reader(Self.drain).milliseconds
        adminTokens = try reader.optional(Self.adminTokens) ?? []
        adminTokensFile = try reader.optional(Self.adminTokensFile)
        webhookLogCollection = try reader(Self.webhookLogCollection)
        webhookLogRetentionDays = try reader(Self.webhookLogRetentionDays)
    }

    /// The consumers to run: `--only`'s, or `consumers.enabled`.
    func enabled(only: String?) throws(SettingsError) -> [Consumer] {
        guard let only else { return try Self.consumers(configuredConsumers, key: Self.enabledConsumers.key) }
        let names = only.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return try Self.consumers(names, key: "--only")
    }

    private static func consumers(_ names: [String], key: String) throws(SettingsError) -> [Consumer] {
        guard !names.isEmpty else { throw .missing(key: key, reason: "enable at least one consumer") }
        var consumers: [Consumer] = []
        for name in names {
            guard let consumer = Consumer(rawValue: name) else {
                throw .invalid(key: key, value: name, reason: "is not a consumer (expected \(Consumer.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            consumers.append(consumer)
        }
        return consumers
    }

    func consumerLoop(group: String, topic: String? = nil) -> KafkaConsumerLoop.Settings {
        kafka.loop(.group(group, topics: [topic ?? self.topic]))
    }

    func producer(clientId: String) -> KafkaProducerConfig {
        KafkaProducerConfig(brokers: kafka.brokers, clientId: clientId)
    }
}
