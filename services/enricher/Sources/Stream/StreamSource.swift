import BeaconRedis

/// One Redis Stream read through a consumer group. Used by one pipeline
/// thread only; the group is created on every new connection (a restarted
/// Redis may have lost it).
final class StreamSource {
    struct Settings: Sendable {
        var url: RedisURL
        var stream: String
        var group: String
        var consumer: String
        var readCount: Int
        var blockMs: Int
        var claimIdleMs: Int
        var timeout: Duration
    }

    let settings: Settings
    private let redis: RedisClient
    /// Our own pending entries (left by a crash or a failed delivery) are
    /// read from "0" before new ones from ">".
    private var readingOwnPending = true
    private var claimCursor = "0-0"

    init(settings: Settings) {
        self.settings = settings
        let stream = settings.stream, group = settings.group
        redis = RedisClient(url: settings.url, timeout: settings.timeout) { connection throws(RedisError) in
            let reply = try connection.command(["XGROUP", "CREATE", stream, group, "0", "MKSTREAM"])
            if case .error(let message) = reply, !message.hasPrefix("BUSYGROUP") { throw .server(message) }
        }
    }

    /// After a failure: reconnect, and read our pending entries again first.
    func connectionLost() {
        redis.disconnect()
        readingOwnPending = true
    }

    /// Next entries (at most `count`, and never more than `readCount`): our
    /// pending ones first, then new ones, waiting up to `blockMs` for new
    /// ones when `block`.
    func read(block: Bool, count: Int? = nil) throws(RedisError) -> [StreamMessage] {
        let count = String(min(count ?? settings.readCount, settings.readCount))
        if readingOwnPending {
            let reply = try redis.command([
                "XREADGROUP", "GROUP", settings.group, settings.consumer, "COUNT", count,
                "STREAMS", settings.stream, "0",
            ])
            let messages = try StreamMessage.parseRead(reply)
            if !messages.isEmpty { return messages }
            readingOwnPending = false
        }
        var arguments = ["XREADGROUP", "GROUP", settings.group, settings.consumer, "COUNT", count]
        if block { arguments += ["BLOCK", String(settings.blockMs)] }
        arguments += ["STREAMS", settings.stream, ">"]
        return try StreamMessage.parseRead(try redis.command(arguments))
    }

    /// Takes over entries another consumer left pending longer than the idle
    /// time (it died), walking the pending list a page per call.
    func claimAbandoned() throws(RedisError) -> [StreamMessage] {
        let reply = try redis.command([
            "XAUTOCLAIM", settings.stream, settings.group, settings.consumer, String(settings.claimIdleMs),
            claimCursor, "COUNT", String(settings.readCount),
        ])
        let (cursor, messages) = try StreamMessage.parseAutoClaim(reply)
        claimCursor = cursor
        // Entries deleted while pending come back without fields: acknowledge them away.
        let empty = messages.filter { $0.fields.isEmpty }.map(\.id)
        if !empty.isEmpty { try acknowledge(empty) }
        return messages.filter { !$0.fields.isEmpty }
    }

    /// XACK and XDEL in one round trip: the entry is in Kafka now, so the
    /// stream need not keep it.
    func acknowledge(_ ids: [String]) throws(RedisError) {
        guard !ids.isEmpty else { return }
        let replies = try redis.pipeline([
            ["XACK", settings.stream, settings.group] + ids,
            ["XDEL", settings.stream] + ids,
        ])
        for reply in replies { try reply.checked() }
    }
}
