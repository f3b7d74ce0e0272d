import BeaconRedis

/// The events in a tracker stream, read back as the enricher reads them:
/// entries hold one event or many (packed), so tests count events, not entries.
public enum StreamEvents {
    public static func read(_ redis: RedisConnection, stream: String) throws -> [[UInt8]] {
        let reply = try redis.command(["XRANGE", stream, "-", "+"]).checked()
        return try StreamMessage.parseList(reply).flatMap(\.events)
    }

    public static func count(_ redis: RedisConnection, stream: String) throws -> Int {
        try read(redis, stream: stream).count
    }
}
