import CHiredis
import Glibc

/// One blocking connection to Redis through hiredis. Not shared between
/// threads: each writer or reader owns its own connection. Commands can be
/// pipelined: `append` several, then `readReply` as many times.
public final class RedisConnection {
    public let url: RedisURL
    private let context: UnsafeMutablePointer<redisContext>

    /// Connects, authenticates and selects the database. `timeout` bounds the
    /// connect and every read and write, so a dead server cannot hang a caller.
    public init(url: RedisURL, timeout: Duration = .seconds(2)) throws(RedisError) {
        self.url = url
        let tv = Self.timeval(timeout)
        guard let context = redisConnectWithTimeout(url.host, Int32(url.port), tv) else {
            throw .connection("out of memory allocating the hiredis context")
        }
        if context.pointee.err != 0 {
            let message = Self.errorText(context)
            redisFree(context)
            throw .connection("\(url): \(message)")
        }
        redisSetTimeout(context, tv)
        self.context = context
        if let password = url.password {
            if let user = url.username {
                try command(["AUTH", user, password]).checked()
            } else {
                try command(["AUTH", password]).checked()
            }
        }
        if url.database != 0 {
            try command(["SELECT", String(url.database)]).checked()
        }
    }

    public convenience init(_ url: String, timeout: Duration = .seconds(2)) throws(RedisError) {
        try self.init(url: RedisURL(url), timeout: timeout)
    }

    deinit {
        redisFree(context)
    }

    /// Sends one command and waits for its reply. Error replies are returned
    /// as `.error`, not thrown: call `checked()` where they are failures.
    public func command(_ arguments: [String]) throws(RedisError) -> RedisReply {
        try append(arguments)
        return try readReply()
    }

    /// Queues a command in hiredis's output buffer without waiting.
    public func append(_ arguments: [String]) throws(RedisError) {
        try append(arguments.map { Array($0.utf8) })
    }

    /// Queues a command with binary-safe arguments.
    public func append(_ arguments: [[UInt8]]) throws(RedisError) {
        let count = arguments.count
        let status: Int32 = withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: count) { pointers in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: count) { lengths in
                Self.withPointers(arguments, index: 0, pointers: pointers, lengths: lengths) {
                    redisAppendCommandArgv(context, Int32(count), pointers.baseAddress, lengths.baseAddress)
                }
            }
        }
        guard status == REDIS_OK else { throw .connection(Self.errorText(context)) }
    }

    /// Reads the next reply, flushing queued commands first.
    public func readReply() throws(RedisError) -> RedisReply {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
            throw .connection(Self.errorText(context))
        }
        defer { freeReplyObject(raw) }
        return RedisReply(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// Sends all commands in one round trip and returns their replies in order.
    public func pipeline(_ commands: [[String]]) throws(RedisError) -> [RedisReply] {
        for arguments in commands { try append(arguments) }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands { replies.append(try readReply()) }
        return replies
    }

    // Pins every argument's bytes for the duration of one hiredis call
    // without copying them into a second buffer.
    private static func withPointers<R>(
        _ arguments: [[UInt8]], index: Int,
        pointers: UnsafeMutableBufferPointer<UnsafePointer<CChar>?>,
        lengths: UnsafeMutableBufferPointer<Int>,
        _ body: () -> R
    ) -> R {
        if index == arguments.count { return body() }
        return arguments[index].withUnsafeBufferPointer { bytes in
            pointers[index] = UnsafeRawPointer(bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self)
            lengths[index] = bytes.count
            return withPointers(arguments, index: index + 1, pointers: pointers, lengths: lengths, body)
        }
    }

    private static func timeval(_ duration: Duration) -> Glibc.timeval {
        let (seconds, attoseconds) = duration.components
        return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            let end = bytes.firstIndex(of: 0) ?? bytes.count
            let text = String(decoding: bytes[..<end], as: UTF8.self)
            return text.isEmpty ? "error \(context.pointee.err)" : text
        }
    }
}
