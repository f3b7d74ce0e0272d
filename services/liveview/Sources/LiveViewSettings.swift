import BeaconCore

struct LiveViewSettings: Sendable {
    var host: String
    var port: Int
    var brokers: String
    var token: String
    var topics: [String]
    var queueSize: Int

    init(_ config: ServiceConfig) throws {
        host = config.string("http.host", default: "127.0.0.1")
        port = config.int("http.port", default: 8090)
        brokers = config.string("kafka.brokers", default: "127.0.0.1:9092")
        guard let token = config.optionalString("liveview.token") else {
            throw ConfigError.invalid(key: "liveview.token", reason: "a token is required (BEACON_LIVEVIEW_TOKEN): the live view shows every event")
        }
        self.token = token
        topics = config.strings("liveview.topics", default: ["beacon.events", "beacon.events.invalid"])
        guard !topics.isEmpty else { throw ConfigError.invalid(key: "liveview.topics", reason: "list at least one topic") }
        queueSize = config.int("liveview.queueSize", default: 1_000)
    }
}
