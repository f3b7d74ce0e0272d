import BeaconCore
import Synchronization

/// Token buckets per user key, in shards so that handlers on different
/// threads rarely share a lock. Memory is bounded: past `capacity` keys, a
/// shard forgets the buckets that have refilled (they equal new ones), and if
/// every bucket is busy, the whole shard (those users start afresh).
final class UserBuckets: Sendable {
    private final class Shard: Sendable {
        let buckets = Mutex<[String: TokenBucket]>([:])
    }

    private let shards: [Shard]
    private let shardCapacity: Int

    init(capacity: Int, shards count: Int = 16) {
        shards = (0..<count).map { _ in Shard() }
        shardCapacity = max(1, capacity / count)
    }

    /// Takes one token from `key`'s bucket; false when it is empty.
    func take(_ key: String, limit: RateLimit, now: Double) -> Bool {
        let shard = shards[Int(UInt(bitPattern: key.hashValue) % UInt(shards.count))]
        return shard.buckets.withLock { buckets in
            if buckets.count >= shardCapacity, buckets[key] == nil {
                buckets = buckets.filter { !$0.value.isFull(now: now) }
                if buckets.count >= shardCapacity { buckets.removeAll(keepingCapacity: true) }
            }
            var bucket = buckets[key] ?? TokenBucket(rate: limit.userEventsPerSecond, burst: limit.perUserBurst, now: now)
            let taken = bucket.take(1, now: now) == nil
            buckets[key] = bucket
            return taken
        }
    }

    var count: Int { shards.reduce(0) { total, shard in total + shard.buckets.withLock { $0.count } } }
}
