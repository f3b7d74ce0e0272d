import BeaconCore
import Foundation

/// What the webhook delivery worker reads from the consumers' configuration.
struct WebhookSettings: Sendable {
    static let attemptsTopic = Setting<String>(
        "kafka.webhookAttemptsTopic", default: "beacon.webhooks.attempts", "where every attempt is published too, for the live view to tail",
        check: SettingCheck.notEmpty)
    static let publishAttempts = Setting<Bool>(
        "webhooks.publishAttempts", default: true, "publish every attempt to kafka.webhookAttemptsTopic (the delivery log keeps them either way)")
    static let maxAttempts = Setting<Int>(
        "webhooks.maxAttempts", default: 12, "attempts of a webhook request before it goes to kafka.webhookFailedTopic",
        check: SettingCheck.range(1...100))
    static let firstRetryMs = Setting<Int>(
        "webhooks.firstRetryMs", default: 5_000, "the delay before the first retry; each next one is about twice the last, with jitter",
        check: SettingCheck.positive)
    static let horizonSeconds = Setting<Int>(
        "webhooks.retryHorizonSeconds", default: 86_400, "no retry is scheduled later than this after the first attempt",
        check: SettingCheck.range(1...30 * 86_400))
    static let permanentStatuses = Setting<[String]>(
        "webhooks.permanentStatuses", default: ["400", "401", "403", "404", "410"],
        "answers that are not retried: the request goes to the failed topic at once")
    static let timeoutMs = Setting<Int>("webhooks.timeoutMs", default: 10_000, "the time limit of one call, connect included", check: SettingCheck.positive)
    static let connectTimeoutMs = Setting<Int>("webhooks.connectTimeoutMs", default: 3_000, "the time limit of connecting", check: SettingCheck.positive)
    static let allowPrivate = Setting<Bool>(
        "webhooks.allowPrivate", default: false, "lets webhooks reach private addresses (local testing only, never in production)")
    static let maxInFlight = Setting<Int>(
        "webhooks.maxInFlight", default: 512, "calls in flight at once, all hosts together", check: SettingCheck.range(1...100_000))
    static let hostConcurrency = Setting<Int>(
        "webhooks.hostConcurrency", default: 32, "calls in flight at once to one host (one slow partner cannot take them all)",
        check: SettingCheck.range(1...10_000))
    static let hostRate = Setting<Int>(
        "webhooks.hostRatePerSecond", default: 1_000, "calls started per second to one host (0: no limit)", check: SettingCheck.range(0...1_000_000))
    static let breakerFailures = Setting<Int>(
        "webhooks.breakerFailures", default: 5, "consecutive failures of a host that open its circuit breaker", check: SettingCheck.range(1...1_000))
    static let breakerCooldownMs = Setting<Int>(
        "webhooks.breakerCooldownMs", default: 10_000, "how long an open breaker waits before probing the host; it doubles while probes fail",
        check: SettingCheck.positive)
    static let responseBodyBytes = Setting<Int>(
        "webhooks.maxResponseBytes", default: 65_536, "how much of a response is read (the log keeps the first 2 KB)", check: SettingCheck.positive)
    static let signingSecrets = Setting<[String]>(
        "webhooks.signingSecrets.<app>", default: [],
        "Standard Webhooks secrets (whsec_<base64>) that sign the app's requests (or those of rules naming it with signingKey); two during a rotation, both signatures sent; none: unsigned",
        secret: true)
    static let scheduleKey = Setting<String>(
        "webhooks.scheduleKey", default: "beacon:webhooks", "prefix of the Redis keys of the retry schedule (<prefix>:due, :pending, :done:<id>)")
    static let leaseMs = Setting<Int>(
        "webhooks.leaseMs", default: 60_000, "how long a claimed request is the worker's before another may take it (a worker that died)",
        check: SettingCheck.positive)
    static let doneRetentionSeconds = Setting<Int>(
        "webhooks.doneRetentionSeconds", default: 86_400, "how long a delivered request's id is remembered, so a redelivered Kafka message is not called again",
        check: SettingCheck.positive)

    static let settings: [any SettingDescription] = [
        WebhookTopics.topic, WebhookTopics.failedTopic, attemptsTopic, publishAttempts, maxAttempts, firstRetryMs, horizonSeconds, permanentStatuses, timeoutMs,
        connectTimeoutMs, allowPrivate, maxInFlight, hostConcurrency, hostRate, breakerFailures, breakerCooldownMs, responseBodyBytes,
        signingSecrets, scheduleKey, leaseMs, doneRetentionSeconds,
    ]

    var topic: String, failedTopic: String
    /// nil: attempts are not published.
    var attemptsTopic: String?
    var retry: WebhookRetryPolicy
    var timeout: Duration, connectTimeout: Duration
    var allowPrivate: Bool
    var maxInFlight: Int
    var hosts: HostLimits
    var maxResponseBytes: Int
    var secrets: SigningSecrets
    var scheduleKey: String
    var lease: Duration
    var doneRetentionSeconds: Int

    init(_ reader: SettingsReader) throws(SettingsError) {
        topic = try reader(WebhookTopics.topic)
        failedTopic = try reader(WebhookTopics.failedTopic)
        attemptsTopic = try reader(Self.publishAttempts) ? try reader(Self.attemptsTopic) : nil
        var statuses: Set<Int> = []
        for text in try reader(Self.permanentStatuses) {
            guard let status = Int(text), (100...599).contains(status) else {
                throw .invalid(key: Self.permanentStatuses.key, value: text, reason: "is not an HTTP status")
            }
            statuses.insert(status)
        }
        retry = WebhookRetryPolicy(
            maxAttempts: try reader(Self.maxAttempts), firstDelay: try reader(Self.firstRetryMs).milliseconds,
            horizon: .seconds(try reader(Self.horizonSeconds)), permanentStatuses: statuses)
        timeout = try reader(Self.timeoutMs).milliseconds
        connectTimeout = try reader(Self.connectTimeoutMs).milliseconds
        allowPrivate = try reader(Self.allowPrivate)
        maxInFlight = try reader(Self.maxInFlight)
        hosts = HostLimits(
            concurrency: try reader(Self.hostConcurrency), ratePerSecond: try reader(Self.hostRate),
            breakerFailures: try reader(Self.breakerFailures), breakerCooldown: try reader(Self.breakerCooldownMs).milliseconds)
        maxResponseBytes = try reader(Self.responseBodyBytes)
        var secrets: [String: [String]] = [:]
        for name in reader.names(for: Self.signingSecrets) {
            secrets[name] = try reader(Self.signingSecrets.forApp(name))
        }
        self.secrets = try SigningSecrets(secrets, key: Self.signingSecrets.key)
        scheduleKey = try reader(Self.scheduleKey)
        lease = try reader(Self.leaseMs).milliseconds
        doneRetentionSeconds = try reader(Self.doneRetentionSeconds)
    }
}
