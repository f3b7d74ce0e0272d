import BeaconCore
import BeaconKafka
import Hummingbird

public struct LiveViewSettings: ServiceSettings {
    static let port = HTTPSettings.port(default: 8090, serves: "the page, its WebSocket, health, readiness and metrics")
    static let token = Setting<String>(
        "liveview.token", default: nil, "the token the page and the WebSocket need (the live view shows every event)", required: true, secret: true)
    static let topics = Setting<[String]>(
        "liveview.topics", default: ["beacon.events", "beacon.events.invalid"], "the topics a browser may tail", check: SettingCheck.nonEmptyList)
    static let queueSize = Setting<Int>(
        "liveview.queueSize", default: 1_000, "frames queued per browser before the oldest are dropped", check: SettingCheck.positive)
    static let drain = ShutdownSettings.drainTimeout(default: 5_000, "how long SIGTERM waits for the taps to stop")

    public static let settings: [any SettingDescription] = HTTPSettings.settings(port: port) + [KafkaConsumerSettings.brokers]
        + [token, topics, queueSize, drain]

    let http: ApplicationConfiguration
    let kafka: KafkaConsumerSettings
    let token: String
    let topics: [String]
    let queueSize: Int
    public let drainTimeout: Duration

    public init(_ reader: SettingsReader) throws(SettingsError) {
        http = try HTTPSettings.read(reader, port: Self.port, serverName: "beacon-liveview")
        kafka = KafkaConsumerSettings(brokers: try reader(KafkaConsumerSettings.brokers), properties: [:])
        token = try reader(Self.token)
        topics = try reader(Self.topics)
        queueSize = try reader(Self.queueSize)
        drainTimeout = try reader(Self.drain).milliseconds
    }
}
