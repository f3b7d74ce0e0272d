import Synchronization

/// A Redis connection that is made when first needed and made again after
/// it broke: the one place Beacon reconnects to Redis. Callers take turns
/// (one command or pipeline at a time), so one client serves a loop thread
/// or a handful of request handlers.
public final class RedisClient: Sendable {
    public let url: RedisURL
    private let timeout: Duration
    private let prepare: (@Sendable (RedisConnection) throws(RedisError) -> Void)?
    private let connection = Mutex<RedisConnection?>(nil)

    /// - Parameter prepare: runs on every new connection before its first
    ///   use (e.g. creating a consumer group); a failure drops the connection.
    public init(url: RedisURL, timeout: Duration = .seconds(2), prepare: (@Sendable (RedisConnection) throws(RedisError) -> Void)? = nil) {
        self.url = url
        self.timeout = timeout
        self.prepare = prepare
    }

    /// Runs `body` on the connection, connecting first when there is none. A
    /// connection error drops the connection, so the next call reconnects.
    public func withConnection<T: Sendable>(_ body: (RedisConnection) throws(RedisError) -> T) throws(RedisError) -> T {
        try connection.withLock { (current: inout RedisConnection?) throws(RedisError) -> T in
            let redis: RedisConnection
            if let current {
                redis = current
            } else {
                redis = try RedisConnection(url: url, timeout: timeout)
                try prepare?(redis)
            }
            current = redis
            do throws(RedisError) {
                return try body(redis)
            } catch {
                if error.isConnectionError { current = nil }
                throw error
            }
        }
    }

    /// One command; error replies are returned, not thrown (see `RedisReply.checked`).
    public func command(_ arguments: [String]) throws(RedisError) -> RedisReply {
        try withConnection { redis throws(RedisError) in try redis.command(arguments) }
    }

    /// Commands in one round trip; replies in order.
    public func pipeline(_ commands: [[String]]) throws(RedisError) -> [RedisReply] {
        try withConnection { redis throws(RedisError) in try redis.pipeline(commands) }
    }

    /// Drops the connection; the next call connects again.
    public func disconnect() {
        connection.withLock { $0 = nil }
    }

    public var isConnected: Bool { connection.withLock { $0 != nil } }
}
