import BeaconCore
import BeaconRedis
import BeaconSealing
import Hummingbird

/// Everything the tracker reads from its configuration, checked at start-up.
public struct TrackerSettings: ServiceSettings {
    static let port = HTTPSettings.port(default: 8080, serves: "intake, health, readiness and metrics")
    static let writeKeys = Setting<[String]>(
        "tracker.writeKeys", default: ["demo-write-key:demo"],
        "key:app pairs; the key is what SDKs send as the HTTP Basic username or as writeKey in the body")
    static let trustedProxies = Setting<[String]>(
        "tracker.trustedProxies", default: ["127.0.0.1", "::1"], "addresses or CIDR blocks whose X-Forwarded-For is believed")
    static let maxEventBytes = Setting<Int>("tracker.maxEventBytes", default: 32 * 1024, "largest event, in bytes (413 above)", check: SettingCheck.positive)
    static let maxRequestBytes = Setting<Int>(
        "tracker.maxRequestBytes", default: 500 * 1024, "largest request body, in bytes (413 above)", check: SettingCheck.positive)
    static let maxBatchEvents = Setting<Int>("tracker.maxBatchEvents", default: 2_500, "most events in one batch", check: SettingCheck.positive)
    static let bufferEvents = Setting<Int>(
        "tracker.bufferEvents", default: 100_000, "events held in memory while Redis is slow or away, before 503", check: SettingCheck.positive)
    static let ackTimeoutMs = Setting<Int>(
        "tracker.ackTimeoutMs", default: 2_000, "how long a request waits for Redis before it is answered 503", check: SettingCheck.positive)
    static let redisURL = Setting<String>("redis.url", default: "redis://127.0.0.1:6379", "the tracker's Redis (redis://[:password@]host:port[/db])")
    static let stream = Setting<String>("redis.stream", default: StreamEntry.defaultStream, "the stream events are written to", check: SettingCheck.notEmpty)
    static let maxStreamLength = Setting<Int>(
        "redis.maxStreamLength", default: 5_000_000, "backlog (stream entries not yet moved to Kafka, each up to redis.eventsPerEntry events) at which intake answers 503",
        check: SettingCheck.positive)
    static let pipelineEvents = Setting<Int>(
        "redis.pipelineEvents", default: 1_000, "events sent to Redis in one pipelined round trip at most", check: SettingCheck.positive)
    static let eventsPerEntry = Setting<Int>(
        "redis.eventsPerEntry", default: 100,
        "events packed into one stream entry at most, across requests (a request's events are never split; 1: an entry per event)",
        check: SettingCheck.positive)
    static let redisTimeoutMs = Setting<Int>("redis.timeoutMs", default: 2_000, "Redis connect, read and write timeout", check: SettingCheck.positive)
    static let allowedOrigins = Setting<[String]>(
        "cors.<app>.allowedOrigins", default: ["*"],
        "origins whose pages may send the app's events (https://shop.example.com); * for any; others get 403")
    static let allowCredentials = Setting<Bool>(
        "cors.allowCredentials", default: false, "answer browsers with Access-Control-Allow-Credentials: true")
    static let corsMaxAge = Setting<Int>(
        "cors.maxAgeSeconds", default: 86_400, "how long a browser may keep a preflight's answer", check: SettingCheck.positive)
    static let overflowStream = Setting<String>(
        "redis.overflowStream", default: StreamEntry.defaultStream + ":overflow",
        "where events of users over rateLimits.<app>.userEventsPerSecond go; the enricher drains it at a bounded pace",
        check: SettingCheck.notEmpty)
    static let appRate = Setting<Double>(
        "rateLimits.<app>.eventsPerSecond", default: 0,
        "the app's events a second per tracker process; above it requests get 429 with Retry-After (0: no limit)",
        check: { $0 >= 0 ? nil : "must not be negative" })
    static let appBurst = Setting<Int>(
        "rateLimits.<app>.burst", default: 0, "events the app may send at once above its rate (0: one second's worth)",
        check: SettingCheck.notNegative)
    static let userRate = Setting<Double>(
        "rateLimits.<app>.userEventsPerSecond", default: 0,
        "each user's (userId, else anonymousId) events a second; above it events are taken into the overflow stream (0: no limit)",
        check: { $0 >= 0 ? nil : "must not be negative" })
    static let userBurst = Setting<Int>(
        "rateLimits.<app>.userBurst", default: 0, "events a user may send at once above their rate (0: one second's worth)",
        check: SettingCheck.notNegative)
    static let trackedUsers = Setting<Int>(
        "tracker.rateLimitedUsers", default: 100_000,
        "users whose buckets are kept per process; past it, refilled buckets are forgotten first", check: SettingCheck.positive)
    static let udpPort = Setting<Int>(
        "tracker.udpPort", default: 0,
        "UDP intake port on http.host: one event or a {\"batch\": [...]} per datagram, writeKey inside (0: no UDP intake)",
        check: SettingCheck.range(0...65535))
    static let udpReceiveBufferBytes = Setting<Int>(
        "tracker.udpReceiveBufferBytes", default: 4 * 1024 * 1024,
        "SO_RCVBUF of the UDP socket: datagrams the kernel holds while the tracker is busy (Linux caps it at net.core.rmem_max)",
        check: SettingCheck.positive)
    static let drain = ShutdownSettings.drainTimeout(default: 10_000, "how long SIGTERM waits for the writer to store what requests queued")

    // Slow and idle clients: every connection is bounded in time, and their number.
    static let requestHeadTimeoutMs = Setting<Int>(
        "tracker.requestHeadTimeoutMs", default: 10_000,
        "time to send a request's head, from connecting or from its first byte on a keep-alive connection; closed after",
        check: SettingCheck.positive)
    static let requestBodyTimeoutMs = Setting<Int>(
        "tracker.requestBodyTimeoutMs", default: 30_000, "time to send a whole request body once its head arrived; 408 and closed after",
        check: SettingCheck.positive)
    static let idleTimeoutMs = Setting<Int>(
        "tracker.idleTimeoutMs", default: 60_000, "how long a keep-alive connection may wait for its next request before it is closed",
        check: SettingCheck.positive)
    static let maxConnections = Setting<Int>(
        "tracker.maxConnections", default: 10_000, "open connections at most; one more is closed at once (and counted)",
        check: SettingCheck.positive)
    static let connectionSettings: [any SettingDescription] = [requestHeadTimeoutMs, requestBodyTimeoutMs, idleTimeoutMs, maxConnections]

    // Mail registration (/v1/mail/*): off until the pinger's public key is given.
    static let mailPublicKeyFile = Setting<String>(
        "mail.publicKeyFile", default: nil,
        "the pinger's P-256 public key (PEM) that mail credentials are sealed to; none: /v1/mail/* answer 503")
    static let mailTokenSecretFile = Setting<String>(
        "mail.tokenSecretFile", default: nil,
        "a file of at least 32 secret bytes, the same on every tracker, that stop tokens are made with (required with mail.publicKeyFile)")
    static let mailAllowPlaintext = Setting<Bool>(
        "mail.allowPlaintext", default: false, "accept account.tls none (IMAP without TLS, the password in clear); otherwise 400")
    static let mailMaxExpiresIn = Setting<Int>(
        "mail.maxExpiresInSeconds", default: MailSettings.maxExpiresIn, "the longest expiresIn (and defer) a registration may ask for",
        check: SettingCheck.range(1...MailSettings.maxExpiresIn))
    static let mailMaxBodyBytes = Setting<Int>(
        "mail.maxBodyBytes", default: 16 * 1024, "largest /v1/mail/* request body, in bytes (413 above)", check: SettingCheck.positive)
    static let mailSettings: [any SettingDescription] = [
        MailTopics.stream, mailPublicKeyFile, mailTokenSecretFile, mailAllowPlaintext, mailMaxExpiresIn, mailMaxBodyBytes,
    ]

    public static let settings: [any SettingDescription] = HTTPSettings.settings(port: port) + [
        writeKeys, trustedProxies, maxEventBytes, maxRequestBytes, maxBatchEvents, bufferEvents, ackTimeoutMs,
        redisURL, stream, maxStreamLength, pipelineEvents, eventsPerEntry, redisTimeoutMs, allowedOrigins, allowCredentials, corsMaxAge,
        overflowStream, appRate, appBurst, userRate, userBurst, trackedUsers, udpPort, udpReceiveBufferBytes, drain,
    ] + connectionSettings + mailSettings + PostbackSettings.settings

    let http: ApplicationConfiguration
    let writeKeys: WriteKeys
    let trustedProxies: [String]
    let limits: IntakeLimits
    let bufferCapacity: Int
    let writer: StreamWriter.Settings
    let cors: CORSPolicy
    let rateLimits: [String: RateLimit]
    let trackedUsers: Int
    let udp: UDPListener.Settings
    let connections: ConnectionBounds
    /// nil: mail registration is off (no `mail.publicKeyFile`).
    let mail: MailSettings?
    let mailStream: String
    let postback: PostbackSettings
    public let drainTimeout: Duration

    public init(_ reader: SettingsReader) throws(SettingsError) {
        http = try HTTPSettings.read(reader, port: Self.port, serverName: "beacon-tracker")
        writeKeys = try WriteKeys(entries: reader(Self.writeKeys), key: Self.writeKeys.key)
        trustedProxies = try reader(Self.trustedProxies)
        limits = IntakeLimits(
            maxEventBytes: try reader(Self.maxEventBytes), maxRequestBytes: try reader(Self.maxRequestBytes),
            maxBatchEvents: try reader(Self.maxBatchEvents), ackTimeout: try reader(Self.ackTimeoutMs).milliseconds)
        bufferCapacity = try reader(Self.bufferEvents)
        writer = StreamWriter.Settings(
            redisURL: try RedisURL(setting: Self.redisURL, in: reader), stream: try reader(Self.stream), overflowStream: try reader(Self.overflowStream),
            maxStreamLength: try reader(Self.maxStreamLength), maxPipelineEvents: try reader(Self.pipelineEvents),
            eventsPerEntry: try reader(Self.eventsPerEntry), connectTimeout: try reader(Self.redisTimeoutMs).milliseconds)
        var origins: [String: [String]] = [:]
        for app in writeKeys.appNames {
            origins[app] = try reader(Self.allowedOrigins.forApp(app))
        }
        cors = CORSPolicy(
            origins: AllowedOrigins(origins), allowCredentials: try reader(Self.allowCredentials),
            maxAge: .seconds(try reader(Self.corsMaxAge)))
        var rateLimits: [String: RateLimit] = [:]
        for app in writeKeys.appNames {
            rateLimits[app] = RateLimit(
                eventsPerSecond: try reader(Self.appRate.forApp(app)), burst: try reader(Self.appBurst.forApp(app)),
                userEventsPerSecond: try reader(Self.userRate.forApp(app)), userBurst: try reader(Self.userBurst.forApp(app)))
        }
        self.rateLimits = rateLimits
        trackedUsers = try reader(Self.trackedUsers)
        udp = UDPListener.Settings(
            host: try reader(HTTPSettings.host), port: try reader(Self.udpPort), receiveBufferBytes: try reader(Self.udpReceiveBufferBytes))
        drainTimeout = try reader(Self.drain).milliseconds
        connections = ConnectionBounds(
            maxConnections: try reader(Self.maxConnections),
            timeouts: ConnectionTimeouts(
                head: .milliseconds(Int64(try reader(Self.requestHeadTimeoutMs))),
                body: .milliseconds(Int64(try reader(Self.requestBodyTimeoutMs))),
                idle: .milliseconds(Int64(try reader(Self.idleTimeoutMs)))))
        postback = try PostbackSettings(reader, apps: writeKeys.appNames)
        mailStream = try reader(MailTopics.stream)
        guard !mailStream.isEmpty else { throw .invalid(key: MailTopics.stream.key, value: "", reason: "must not be empty") }
        var rules = MailRules(
            allowPlaintext: try reader(Self.mailAllowPlaintext), maxExpiresInSeconds: try reader(Self.mailMaxExpiresIn),
            maxBodyBytes: try reader(Self.mailMaxBodyBytes))
        if let keyFile = try reader.optional(Self.mailPublicKeyFile), !keyFile.isEmpty {
            guard let secretFile = try reader.optional(Self.mailTokenSecretFile), !secretFile.isEmpty else {
                throw .missing(key: Self.mailTokenSecretFile.key, reason: "stop tokens need a secret once \(Self.mailPublicKeyFile.key) is set")
            }
            let publicKey: MailSealingPublicKey
            do {
                publicKey = try MailSealingPublicKey(file: keyFile)
            } catch {
                throw .file(path: keyFile, reason: "\(Self.mailPublicKeyFile.key): \(error)")
            }
            rules.keyId = publicKey.keyId
            mail = MailSettings(
                publicKey: publicKey, stopTokens: try MailStopToken(file: secretFile, key: Self.mailTokenSecretFile.key), rules: rules,
                stream: mailStream)
        } else {
            mail = nil
        }
    }
}
