import BeaconRedis

/// One Redis Stream read through a consumer group. Owned by one pipeline
/// thread; reconnects lazily after a failure.
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
    private var connection: RedisConnection?
    /// Our own pending entries (left by a crash or a failed delivery) are
    /// read from "0" before new ones from ">".
    private var readingOwnPending = true
    private var claimCursor = "0-0"

    init(settings: Settings) {
        self.settings = settings
    }

    var isConnected: Bool { connection != nil }

    private func redis() throws(RedisError) -> RedisConnection {
        if let connection { return connection }
        let fresh = try RedisConnection(url: settings.url, timeout: settings.timeout)
        let reply = try fresh.command(["XGROUP", "CREATE", settings.stream, settings.group, "0", "MKSTREAM"])
        if case .error(let message) = reply, !message.hasPrefix("BUSYGROUP") { throw .server(message) }
        connection = fresh
        readingOwnPending = true
        return fresh
    }

    func disconnect() { connection = nil }

    /// Re-reads our pending entries next time (after a producer was replaced).
    func rereadPending() { readingOwnPending = true }

    /// Next entries: our pending ones first, then new ones, waiting up to
    /// `block` milliseconds for new ones.
    func read(block: Bool) throws(RedisError) -> [StreamMessage] {
        let redis = try redis()
        if readingOwnPending {
            let reply = try redis.command([
                "XREADGROUP", "GROUP", settings.group, settings.consumer, "COUNT", String(settings.readCount),
                "STREAMS", settings.stream, "0",
            ])
            let messages = try StreamMessage.parseRead(reply)
            if !messages.isEmpty { return messages }
            readingOwnPending = false
        }
        var arguments = ["XREADGROUP", "GROUP", settings.group, settings.consumer, "COUNT", String(settings.readCount)]
        if block { arguments += ["BLOCK", String(settings.blockMs)] }
        arguments += ["STREAMS", settings.stream, ">"]
        return try StreamMessage.parseRead(try redis.command(arguments))
    }

    /// Takes over entries another consumer left pending longer than the idle
    /// time (it died), walking the pending list a page per call.
    func claimAbandoned() throws(RedisError) -> [StreamMessage] {
        let redis = try redis()
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
        let redis = try redis()
        let replies = try redis.pipeline([
            ["XACK", settings.stream, settings.group] + ids,
            ["XDEL", settings.stream] + ids,
        ])
        for reply in replies { try reply.checked() }
    }

    /// Entries in the stream not yet delivered to this group plus pending ones, for the lag gauge.
    func backlog() throws(RedisError) -> Int64 {
        try redis().command(["XLEN", settings.stream]).checked().integer ?? 0
    }
}
