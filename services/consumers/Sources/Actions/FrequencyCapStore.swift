import BeaconRedis
import Foundation

/// Frequency caps in Redis: one sorted set per rule, app and user holding
/// the source events that produced a push, scored by time. The source
/// messageId is the member, so an event redelivered after a crash is let
/// through again rather than counted twice.
struct FrequencyCapStore: Sendable {
    let redis: RedisClient

    /// Records the push and returns true when the user is under the cap.
    func admit(key: String, member: String, max: Int, windowSeconds: Int, now: Date = Date()) throws(RedisError) -> Bool {
        try redis.withConnection { redis throws(RedisError) in
            let nowMillis = Int64(now.timeIntervalSince1970 * 1000)
            let oldest = nowMillis - Int64(windowSeconds) * 1000
            let replies = try redis.pipeline([
                ["ZREMRANGEBYSCORE", key, "-inf", "(\(oldest)"],
                ["ZSCORE", key, member],
                ["ZCARD", key],
            ])
            for reply in replies { try reply.checked() }
            if replies[1] != .null { return true }
            guard (replies[2].integer ?? 0) < max else { return false }
            let added = try redis.pipeline([
                ["ZADD", key, String(nowMillis), member],
                ["PEXPIRE", key, String(Int64(windowSeconds) * 1000)],
            ])
            for reply in added { try reply.checked() }
            return true
        }
    }
}
