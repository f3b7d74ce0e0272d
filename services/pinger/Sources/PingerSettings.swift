import BeaconCore
import BeaconKafka
import BeaconMongo
import Hummingbird

/// Everything the pinger reads from its configuration. It is the only
/// service that holds the private key that opens mail credentials.
public struct PingerSettings: ServiceSettings {
    static let port = HTTPSettings.port(default: 8086, serves: "health, readiness and metrics")
    static let group = Setting<String>(
        "kafka.group", default: "beacon-pinger", "the pingers' consumer group: each instance watches the mailboxes of its partitions",
        check: SettingCheck.notEmpty)
    static let feedbackTopic = Setting<String>(
        "kafka.feedbackTopic", default: "beacon.push.feedback", "push outcomes; an invalid token ends its mail registration")
    static let feedbackGroup = Setting<String>(
        "kafka.feedbackGroup", default: "beacon-pinger-feedback", "the consumer group that reads push outcomes", check: SettingCheck.notEmpty)
    static let registrations = Setting<String>(
        "mongo.mailRegistrations", default: "mail_registrations", "the collection of current registrations (sealed)", check: SettingCheck.notEmpty)
    static let privateKeyFiles = Setting<[String]>(
        "pinger.privateKeyFiles", default: nil,
        "PEM P-256 private keys that open sealed credentials: the current one first, then older ones during a rotation",
        required: true, secret: false, check: SettingCheck.nonEmptyList)
    static let allowPrivateHosts = Setting<Bool>(
        "pinger.allowPrivateHosts", default: false, "lets mail hosts resolve to private addresses (tests and private deployments only)")
    static let caFile = Setting<String>("pinger.caFile", default: nil, "an extra CA to trust for mail servers, besides the system's")
    static let allowPlaintext = Setting<Bool>(
        "pinger.allowPlaintext", default: false, "allows tls: none (passwords in clear; tests and private networks only)")
    static let idleRefreshSeconds = Setting<Int>(
        "pinger.idleRefreshSeconds", default: 1_500, "IDLE is re-issued this often (RFC 2177: servers may drop it after 30 minutes)",
        check: SettingCheck.range(1...1_740))
    static let pollIntervalSeconds = Setting<Int>(
        "pinger.pollIntervalSeconds", default: 120, "STATUS poll interval for servers without IDLE", check: SettingCheck.range(1...86_400))
    static let connectTimeoutMs = Setting<Int>(
        "pinger.connectTimeoutMs", default: 15_000, "connect, TLS and greeting time limit", check: SettingCheck.positive)
    static let commandTimeoutMs = Setting<Int>(
        "pinger.commandTimeoutMs", default: 30_000, "time limit of each IMAP command", check: SettingCheck.positive)
    static let backoffInitialMs = Setting<Int>(
        "pinger.backoffInitialMs", default: 1_000, "first reconnect delay after a connection error (doubles, full jitter)",
        check: SettingCheck.positive)
    static let backoffMaxMs = Setting<Int>(
        "pinger.backoffMaxMs", default: 300_000, "longest reconnect delay", check: SettingCheck.positive)
    static let maxSessions = Setting<Int>(
        "pinger.maxSessions", default: 20_000, "mailbox sessions this instance holds at most; registrations beyond it wait for a free slot", check: SettingCheck.positive)
    static let drain = ShutdownSettings.drainTimeout(default: 10_000, "how long SIGTERM waits for the sessions to log out and pushes to be confirmed")

    public static let settings: [any SettingDescription] = HTTPSettings.settings(port: port)
        + KafkaConsumerSettings.settings + [MailTopics.topic, group, feedbackTopic, feedbackGroup] + PushTopics.descriptions
        + MongoSettings.settings + [registrations]
        + [privateKeyFiles, allowPrivateHosts, caFile, allowPlaintext, idleRefreshSeconds, pollIntervalSeconds, connectTimeoutMs,
           commandTimeoutMs, backoffInitialMs, backoffMaxMs, maxSessions, drain]

    let http: ApplicationConfiguration
    let kafka: KafkaConsumerSettings
    let mailTopic: String, group: String, feedbackTopic: String, feedbackGroup: String
    let pushTopics: [PushPlatform: String]
    let mongo: MongoSettings
    let registrationsCollection: String
    let privateKeyFiles: [String]
    let session: MailboxSession.Settings
    let maxSessions: Int
    public let drainTimeout: Duration

    public init(_ reader: SettingsReader) throws(SettingsError) {
        http = try HTTPSettings.read(reader, port: Self.port, serverName: "beacon-pinger")
        kafka = try KafkaConsumerSettings(reader)
        mailTopic = try reader(MailTopics.topic)
        group = try reader(Self.group)
        feedbackTopic = try reader(Self.feedbackTopic)
        feedbackGroup = try reader(Self.feedbackGroup)
        pushTopics = try PushTopics.read(reader)
        mongo = try MongoSettings(reader)
        registrationsCollection = try reader(Self.registrations)
        privateKeyFiles = try reader(Self.privateKeyFiles)
        let backoffInitial = try reader(Self.backoffInitialMs).milliseconds
        let backoffMax = try reader(Self.backoffMaxMs).milliseconds
        guard backoffMax >= backoffInitial else {
            throw .invalid(key: Self.backoffMaxMs.key, value: "\(backoffMax)", reason: "must not be below \(Self.backoffInitialMs.key)")
        }
        session = MailboxSession.Settings(
            allowPrivateHosts: try reader(Self.allowPrivateHosts), caFile: try reader.optional(Self.caFile),
            allowPlaintext: try reader(Self.allowPlaintext), idleRefresh: .seconds(try reader(Self.idleRefreshSeconds)),
            pollInterval: .seconds(try reader(Self.pollIntervalSeconds)), connectTimeout: try reader(Self.connectTimeoutMs).milliseconds,
            commandTimeout: try reader(Self.commandTimeoutMs).milliseconds, backoffInitial: backoffInitial, backoffMax: backoffMax)
        maxSessions = try reader(Self.maxSessions)
        drainTimeout = try reader(Self.drain).milliseconds
    }
}
