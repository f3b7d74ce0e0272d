import BeaconCore
import BeaconKafka
import BeaconRedis
import Foundation

/// The counters consumer: events per app, event name and country per minute,
/// in Redis. An event seen again after a crash (same messageId) is not
/// counted twice.
struct CounterHandler: EventHandler {
    let name = "counters"
    let redis: RedisClient
    let retention: Int

    init(redis: RedisClient, retentionSeconds: Int) {
        self.redis = redis
        self.retention = retentionSeconds
    }

    /// What an event is counted under: a track's event name, a page's or
    /// screen's name, else its call type (a group or alias may carry a
    /// `name` trait, which is not what it is).
    static func countedName(_ event: JSONValue) -> String? {
        let type = event["type"]?.stringValue
        switch type {
        case "track": return event["event"]?.stringValue ?? type
        case "page", "screen": return event["name"]?.stringValue ?? type
        default: return type
        }
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
        if let name = Self.countedName(event) { fields.append("event:\(name)") }
        if let country = event["enrichment"]?["geo"]?["countryCode"]?.stringValue { fields.append("country:\(country)") }
        try redis.withConnection { redis throws(RedisError) in
            if !commands.isEmpty {
                // Already counted: a redelivery after a crash.
                guard try redis.command(commands[0]).checked() != .null else { return }
            }
            var batch = fields.map { ["HINCRBY", key, $0, "1"] }
            batch.append(["EXPIRE", key, String(retention)])
            for reply in try redis.pipeline(batch) { try reply.checked() }
        }
    }
}
