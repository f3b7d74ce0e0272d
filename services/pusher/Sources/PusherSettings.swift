import BeaconCore
import BeaconKafka
import BeaconMongo
import Hummingbird

/// Everything the pusher reads from its configuration, the credentials of
/// each app included (as paths: the files are read when the clients start).
public struct PusherSettings: ServiceSettings {
    static let port = HTTPSettings.port(default: 8083, serves: "health, readiness and metrics")
    static let apps = Setting<[String]>("apps", default: [], "the apps this pusher sends for; each has its own credentials below")
    static let dryRun = Setting<Bool>(
        "pusher.dryRun", default: false, "check each push and report it on the feedback topic without sending (FCM validates server-side)")
    static let concurrency = Setting<Int>("pusher.concurrency", default: 200, "pushes being sent at once, over all apps", check: SettingCheck.positive)
    static let maxUnconfirmed = Setting<Int>(
        "pusher.maxUnconfirmed", default: 5_000, "pushes sent whose outcome is not yet confirmed on the feedback topic",
        check: SettingCheck.positive)
    static let maxAttempts = Setting<Int>(
        "pusher.maxAttempts", default: 5, "attempts per push for 429, 5xx and connection failures", check: SettingCheck.range(1...100))
    static let backoffMs = Setting<Int>(
        "pusher.backoffMs", default: 500, "first backoff of a retried push (exponential, full jitter, Retry-After honoured)",
        check: SettingCheck.positive)
    static let apnsConnections = Setting<Int>(
        "pusher.apnsConnections", default: 2, "HTTP/2 connections per app to APNs", check: SettingCheck.range(1...64))
    static let feedbackTopic = Setting<String>("kafka.feedbackTopic", default: "beacon.push.feedback", "where every outcome is reported")
    static let group = Setting<String>("kafka.group", default: "beacon-pusher", "the pusher's consumer group", check: SettingCheck.notEmpty)
    static let drain = ShutdownSettings.drainTimeout(default: 20_000, "how long SIGTERM waits for the sends in flight and their feedback")

    static let apnsKeyFile = Setting<String>("apns.<app>.keyFile", default: nil, "the app's .p8 token-auth key (turns APNs on for it)")
    static let apnsTeamId = Setting<String>("apns.<app>.teamId", default: nil, "the Apple team id (required with keyFile)")
    static let apnsKeyId = Setting<String>("apns.<app>.keyId", default: nil, "the key's id (required with keyFile)")
    static let apnsBundle = Setting<String>("apns.<app>.topic", default: nil, "the app's bundle id, the default apns-topic (required with keyFile)")
    static let apnsEnvironment = Setting<APNsEnvironment>("apns.<app>.environment", default: .production, "sandbox or production")
    static let apnsEndpoint = Setting<String>("apns.<app>.endpoint", default: nil, "replaces Apple's host, e.g. a test server")
    static let apnsCAFile = Setting<String>("apns.<app>.caFile", default: nil, "a CA to trust for APNs (test servers, inspecting proxies)")
    static let fcmAccountFile = Setting<String>(
        "fcm.<app>.serviceAccountFile", default: nil, "the app's Firebase service account JSON (turns FCM on for it)")
    static let fcmEndpoint = Setting<String>("fcm.<app>.endpoint", default: nil, "replaces https://fcm.googleapis.com")
    static let fcmTokenURL = Setting<String>("fcm.<app>.tokenURL", default: nil, "replaces the service account's token_uri")

    public static let settings: [any SettingDescription] = HTTPSettings.settings(port: port)
        + KafkaConsumerSettings.settings + PushTopics.descriptions + [feedbackTopic, group] + MongoSettings.settings
        + [dryRun, concurrency, maxUnconfirmed, maxAttempts, backoffMs, apnsConnections, drain, apps]
        + [apnsKeyFile, apnsTeamId, apnsKeyId, apnsBundle, apnsEnvironment, apnsEndpoint, apnsCAFile, fcmAccountFile, fcmEndpoint, fcmTokenURL]

    /// One app's APNs token-auth credentials.
    struct APNsApp: Sendable {
        let teamId: String, keyId: String, keyFile: String
        /// The bundle id: the default apns-topic.
        let topic: String
        let environment: APNsEnvironment
        /// A test server or proxy instead of Apple, and the CA it needs.
        let endpoint: String?, caFile: String?
    }

    /// One app's FCM credentials.
    struct FCMApp: Sendable {
        let serviceAccountFile: String
        let endpoint: String?
        let tokenURL: String?
    }

    let http: ApplicationConfiguration
    let kafka: KafkaConsumerSettings
    /// Where push requests come from (and in which group), and outcomes go.
    let topics: [PushPlatform: String], group: String, feedbackTopic: String
    let mongo: MongoSettings
    let dryRun: Bool
    let concurrency: Int, maxUnconfirmed: Int
    let retry: PushRetryPolicy
    let apnsConnections: Int
    let apns: [String: APNsApp]
    let fcm: [String: FCMApp]
    public let drainTimeout: Duration

    public init(_ reader: SettingsReader) throws(SettingsError) {
        http = try HTTPSettings.read(reader, port: Self.port, serverName: "beacon-pusher")
        kafka = try KafkaConsumerSettings(reader)
        topics = try PushTopics.read(reader)
        feedbackTopic = try reader(Self.feedbackTopic)
        group = try reader(Self.group)
        mongo = try MongoSettings(reader)
        dryRun = try reader(Self.dryRun)
        concurrency = try reader(Self.concurrency)
        maxUnconfirmed = try reader(Self.maxUnconfirmed)
        retry = PushRetryPolicy(maxAttempts: try reader(Self.maxAttempts), baseDelay: try reader(Self.backoffMs).milliseconds, maxDelay: .seconds(30))
        apnsConnections = try reader(Self.apnsConnections)
        drainTimeout = try reader(Self.drain).milliseconds
        var apns: [String: APNsApp] = [:], fcm: [String: FCMApp] = [:]
        for app in try reader(Self.apps) {
            if let keyFile = try reader.optional(Self.apnsKeyFile.forApp(app)) {
                func required(_ setting: Setting<String>) throws(SettingsError) -> String {
                    let setting = setting.forApp(app)
                    guard let value = try reader.optional(setting) else {
                        throw .missing(key: setting.key, reason: "required when apns.\(app).keyFile is set")
                    }
                    return value
                }
                apns[app] = APNsApp(
                    teamId: try required(Self.apnsTeamId), keyId: try required(Self.apnsKeyId), keyFile: keyFile,
                    topic: try required(Self.apnsBundle), environment: try reader(Self.apnsEnvironment.forApp(app)),
                    endpoint: try reader.optional(Self.apnsEndpoint.forApp(app)), caFile: try reader.optional(Self.apnsCAFile.forApp(app)))
            }
            if let accountFile = try reader.optional(Self.fcmAccountFile.forApp(app)) {
                fcm[app] = FCMApp(
                    serviceAccountFile: accountFile, endpoint: try reader.optional(Self.fcmEndpoint.forApp(app)),
                    tokenURL: try reader.optional(Self.fcmTokenURL.forApp(app)))
            }
        }
        self.apns = apns
        self.fcm = fcm
    }
}

extension APNsEnvironment: SettingChoice {}
