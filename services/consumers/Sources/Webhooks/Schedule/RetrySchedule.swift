import BeaconCore
import BeaconRedis
import Foundation

/// The durable schedule of webhook requests, in Redis: a sorted set of ids
/// by due time (Unix ms) and a hash of their `ScheduledWebhook`s. Nothing
/// waits in the worker's memory: a `kill -9` loses nothing, and a million
/// pending retries cost the worker nothing.
///
/// Claiming is atomic (a script): due ids are taken and pushed `lease` into
/// the future in one step, so two workers never take the same request, and
/// one that dies mid-call gives its requests back when the lease runs out.
/// A delivered id is remembered (`:done:<id>`, for `doneRetention`) so that
/// Kafka redelivering its message does not call the partner again.
struct RetrySchedule: Sendable {
    let redis: RedisClient
    let due: String, pending: String, donePrefix: String
    let doneRetentionSeconds: Int

    init(redis: RedisClient, keyPrefix: String, doneRetentionSeconds: Int) {
        self.redis = redis
        due = keyPrefix + ":due"
        pending = keyPrefix + ":pending"
        donePrefix = keyPrefix + ":done:"
        self.doneRetentionSeconds = doneRetentionSeconds
    }

    struct Claimed: Sendable {
        let id: String
        /// Nil when the stored value is unreadable (the caller drops it).
        let webhook: Result<ScheduledWebhook, ServiceError>
    }

    private static let enqueueScript = """
        if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
        if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return 0 end
        redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
        return 1
        """

    private static let claimScript = """
        local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
        local out = {}
        for _, id in ipairs(ids) do
          local value = redis.call('HGET', KEYS[2], id)
          if value then
            redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), id)
            out[#out + 1] = id
            out[#out + 1] = value
          else
            redis.call('ZREM', KEYS[1], id)
          end
        end
        return out
        """

    private static let completeScript = """
        redis.call('ZREM', KEYS[1], ARGV[1])
        redis.call('HDEL', KEYS[2], ARGV[1])
        redis.call('SET', KEYS[3], '1', 'EX', tonumber(ARGV[2]))
        return 1
        """

    /// Adds new requests, due `at` (Unix ms); one already pending or already
    /// delivered is left as it is. Returns how many were new.
    @discardableResult
    func enqueue(_ webhooks: [ScheduledWebhook], at: Int64) throws(RedisError) -> Int {
        guard !webhooks.isEmpty else { return 0 }
        let replies = try redis.pipeline(webhooks.map { webhook in
            ["EVAL", Self.enqueueScript, "3", due, pending, donePrefix + webhook.request.id,
             webhook.request.id, String(decoding: webhook.bytes, as: UTF8.self), String(at)]
        })
        var added = 0
        for reply in replies {
            added += Int(try reply.checked().integer ?? 0)
        }
        return added
    }

    /// Up to `count` requests due by `now` (Unix ms), each now the caller's for `lease`.
    func claim(now: Int64, lease: Duration, count: Int) throws(RedisError) -> [Claimed] {
        let reply = try redis.command(["EVAL", Self.claimScript, "2", due, pending, String(now), String(lease.wholeMilliseconds), String(count)]).checked()
        let values = reply.elements ?? []
        var claimed: [Claimed] = []
        claimed.reserveCapacity(values.count / 2)
        var index = 0
        while index + 1 < values.count {
            let id = values[index].text ?? ""
            let bytes: [UInt8] = if case .string(let raw) = values[index + 1] { raw } else { [] }
            claimed.append(Claimed(id: id, webhook: Result { () throws(ServiceError) in try ScheduledWebhook(bytes: bytes) }))
            index += 2
        }
        return claimed
    }

    /// What the caller's attempts came to, in one round trip: delivered,
    /// given up, or due again at a time.
    enum Change: Sendable {
        /// Delivered: removed, and its id remembered.
        case done(id: String)
        /// Failed for good (in the failed topic): removed, and not remembered, so that a replay may schedule it again.
        case drop(id: String)
        case reschedule(ScheduledWebhook, at: Int64)
    }

    func apply(_ changes: [Change]) throws(RedisError) {
        guard !changes.isEmpty else { return }
        var commands: [[String]] = []
        for change in changes {
            switch change {
            case .done(let id):
                commands.append(["EVAL", Self.completeScript, "3", due, pending, donePrefix + id, id, String(doneRetentionSeconds)])
            case .drop(let id):
                commands.append(["ZREM", due, id])
                commands.append(["HDEL", pending, id])
            case .reschedule(let webhook, let at):
                commands.append(["HSET", pending, webhook.request.id, String(decoding: webhook.bytes, as: UTF8.self)])
                commands.append(["ZADD", due, String(at), webhook.request.id])
            }
        }
        for reply in try redis.pipeline(commands) { _ = try reply.checked() }
    }

    /// How many requests wait (due now or later, claimed ones included).
    func backlog() throws(RedisError) -> Int {
        Int(try redis.command(["ZCARD", due]).checked().integer ?? 0)
    }

    /// How many are due by `now` and not claimed.
    func dueCount(now: Int64) throws(RedisError) -> Int {
        Int(try redis.command(["ZCOUNT", due, "-inf", String(now)]).checked().integer ?? 0)
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
