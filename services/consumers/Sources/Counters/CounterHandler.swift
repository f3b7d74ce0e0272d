import BeaconCore
import BeaconKafka
import BeaconRedis
import Foundation

/// The counters consumer: events per app, event name and country per minute,
/// in Redis. An event seen again after a crash (same messageId) is not
/// counted twice.
final class CounterHandler: EventHandler, @unchecked Sendable {
    let name = "counters"
    private let redisURL: RedisURL
    private let retention: Int
    /// Used by the counters' consumer thread only.
    private var connection: RedisConnection?

    init(redisURL: RedisURL, retentionSeconds: Int) {
        self.redisURL = redisURL
        self.retention = retentionSeconds
    }

    func handle(_ event: JSONValue, message: KafkaMessage) throws {
        guard let app = event["app"]?.stringValue else { return }
        let at = (event["timestamp"]?.stringValue ?? event["receivedAt"]?.stringValue).flatMap(Timestamp.parse) ?? Date()
        let key = MinuteBucket.key(app: app, minute: MinuteBucket.minute(of: at))
        var commands: [[String]] = []
        if let id = event["messageId"]?.stringValue {
            commands.append(["SET", "beacon:counted:\(app):\(id)", "1", "NX", "EX", String(retention)])
        }
        var fields = ["total"]
        if let name = event["event"]?.stringValue ?? event["name"]?.stringValue ?? event["type"]?.stringValue { fields.append("event:\(name)") }
        if let country = event["enrichment"]?["geo"]?["countryCode"]?.stringValue { fields.append("country:\(country)") }
        try withRedis { redis in
            if !commands.isEmpty {
                // Already counted: a redelivery after a crash.
                guard try redis.command(commands[0]).checked() != .null else { return }
            }
            var batch = fields.map { ["HINCRBY", key, $0, "1"] }
            batch.append(["EXPIRE", key, String(retention)])
            for reply in try redis.pipeline(batch) { try reply.checked() }
        }
    }

    private func withRedis<R>(_ body: (RedisConnection) throws -> R) throws -> R {
        let redis = try connection ?? RedisConnection(url: redisURL)
        connection = redis
        do {
            return try body(redis)
        } catch let error as RedisError where error.isConnectionError {
            connection = nil
            throw error
        }
    }
}
