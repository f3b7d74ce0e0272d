import BeaconCore
import BeaconRedis

/// Everything the tracker reads from its configuration, checked at start-up.
struct TrackerSettings: Sendable {
    var host: String
    var port: Int
    var writeKeys: WriteKeys
    var trustedProxies: [String]
    var limits: IntakeLimits
    var bufferCapacity: Int
    var writer: StreamWriter.Settings

    init(_ config: ServiceConfig) throws {
        host = config.string("http.host", default: "127.0.0.1")
        port = config.int("http.port", default: 8080)
        writeKeys = try WriteKeys(entries: config.strings("tracker.writeKeys", default: []))
        trustedProxies = config.strings("tracker.trustedProxies", default: [])
        limits = IntakeLimits(
            maxEventBytes: config.int("tracker.maxEventBytes", default: 32 * 1024),
            maxRequestBytes: config.int("tracker.maxRequestBytes", default: 500 * 1024),
            maxBatchEvents: config.int("tracker.maxBatchEvents", default: 2_500),
            ackTimeout: .milliseconds(config.int("tracker.ackTimeoutMs", default: 2_000))
        )
        bufferCapacity = config.int("tracker.bufferEvents", default: 100_000)
        writer = StreamWriter.Settings(
            redisURL: try RedisURL(config.string("redis.url", default: "redis://127.0.0.1:6379")),
            stream: config.string("redis.stream", default: StreamEntry.defaultStream),
            maxStreamLength: config.int("redis.maxStreamLength", default: 5_000_000),
            maxPipelineEvents: config.int("redis.pipelineEvents", default: 1_000),
            connectTimeout: .milliseconds(config.int("redis.timeoutMs", default: 2_000))
        )
    }
}
