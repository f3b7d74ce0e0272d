import BeaconCore
import BeaconRedis
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
        "redis.maxStreamLength", default: 5_000_000, "backlog (events not yet moved to Kafka) at which intake answers 503",
        check: SettingCheck.positive)
    static let pipelineEvents = Setting<Int>(
        "redis.pipelineEvents", default: 1_000, "events sent to Redis in one pipelined round trip at most", check: SettingCheck.positive)
    static let redisTimeoutMs = Setting<Int>("redis.timeoutMs", default: 2_000, "Redis connect, read and write timeout", check: SettingCheck.positive)
    static let allowedOrigins = Setting<[String]>(
        "cors.<app>.allowedOrigins", default: ["*"],
        "origins whose pages may send the app's events (https://shop.example.com); * for any; others get 403")
    static let allowCredentials = Setting<Bool>(
        "cors.allowCredentials", default: false, "answer browsers with Access-Control-Allow-Credentials: true")
    static let corsMaxAge = Setting<Int>(
        "cors.maxAgeSeconds", default: 86_400, "how long a browser may keep a preflight's answer", check: SettingCheck.positive)
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

    public static let settings: [any SettingDescription] = HTTPSettings.settings(port: port) + [
        writeKeys, trustedProxies, maxEventBytes, maxRequestBytes, maxBatchEvents, bufferEvents, ackTimeoutMs,
        redisURL, stream, maxStreamLength, pipelineEvents, redisTimeoutMs, allowedOrigins, allowCredentials, corsMaxAge, drain,
    ] + connectionSettings

    let http: ApplicationConfiguration
    let writeKeys: WriteKeys
    let trustedProxies: [String]
    let limits: IntakeLimits
    let bufferCapacity: Int
    let writer: StreamWriter.Settings
    let cors: CORSPolicy
    let connections: ConnectionBounds
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
            redisURL: try RedisURL(setting: Self.redisURL, in: reader), stream: try reader(Self.stream),
            maxStreamLength: try reader(Self.maxStreamLength), maxPipelineEvents: try reader(Self.pipelineEvents),
            connectTimeout: try reader(Self.redisTimeoutMs).milliseconds)
        var origins: [String: [String]] = [:]
        for app in writeKeys.appNames {
            origins[app] = try reader(Self.allowedOrigins.forApp(app))
        }
        cors = CORSPolicy(
            origins: AllowedOrigins(origins), allowCredentials: try reader(Self.allowCredentials),
            maxAge: .seconds(try reader(Self.corsMaxAge)))
        drainTimeout = try reader(Self.drain).milliseconds
        connections = ConnectionBounds(
            maxConnections: try reader(Self.maxConnections),
            timeouts: ConnectionTimeouts(
                head: .milliseconds(Int64(try reader(Self.requestHeadTimeoutMs))),
                body: .milliseconds(Int64(try reader(Self.requestBodyTimeoutMs))),
                idle: .milliseconds(Int64(try reader(Self.idleTimeoutMs)))))
    }
}
