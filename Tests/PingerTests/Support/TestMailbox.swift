import Foundation
import NIOCore
import NIOPosix

/// Puts mail into a test mailbox: logs in on a plaintext port of the test
/// dovecots and APPENDs a small RFC 5322 message (test code: APPEND is not
/// part of the pinger's client). Works with the IDLE and the no-IDLE port.
///
///     let uid = try await TestMailbox.append(user: "mail41", port: try IMAPTestServers.imapPort(), subject: "hi")
enum TestMailbox {
    struct Failed: Error, CustomStringConvertible {
        let description: String
    }

    /// Appends to INBOX; returns the new message's UID (from APPENDUID).
    @discardableResult
    static func append(
        user: String, password: String? = nil, port: Int, subject: String,
        from: String = "Sender <sender@example.com>", body: String = "A test message.", timeout: Duration = .seconds(10)
    ) async throws -> UInt32? {
        let password = password ?? IMAPTestServers.password(user)
        let message = [
            "From: \(from)", "To: \(user)@localhost", "Subject: \(subject)",
            "Date: \(rfc5322Date())", "Message-ID: <\(UUID().uuidString)@beacon.test>", "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8", "", body, "",
        ].joined(separator: "\r\n")
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await withTimeout(timeout) {
            try await channel.executeThenClose { inbound, outbound in
                var lines = Lines(inbound.makeAsyncIterator())
                let greeting = try await lines.next()
                guard greeting.hasPrefix("* OK") else { throw Failed(description: "greeting: \(greeting)") }
                func send(_ text: String) async throws { try await outbound.write(ByteBuffer(string: text)) }
                func reply(_ tag: String) async throws -> String {
                    while true {
                        let line = try await lines.next()
                        if line.hasPrefix(tag + " ") {
                            guard line.hasPrefix(tag + " OK") else { throw Failed(description: "\(tag): \(line)") }
                            return line
                        }
                    }
                }
                try await send("a1 LOGIN \(quoted(user)) \(quoted(password))\r\n")
                _ = try await reply("a1")
                let bytes = Array(message.utf8)
                try await send("a2 APPEND INBOX {\(bytes.count)}\r\n")
                let go = try await lines.next()
                guard go.hasPrefix("+") else { throw Failed(description: "APPEND: \(go)") }
                try await outbound.write(ByteBuffer(bytes: bytes + Array("\r\n".utf8)))
                let done = try await reply("a2")
                try await send("a3 LOGOUT\r\n")
                _ = try? await reply("a3")
                // "a2 OK [APPENDUID validity uid] ..."
                guard let range = done.range(of: "[APPENDUID ") else { return nil }
                let parts = done[range.upperBound...].prefix { $0 != "]" }.split(separator: " ")
                return parts.count == 2 ? UInt32(parts[1]) : nil
            }
        }
    }

    private static func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    private static func rfc5322Date() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, d MMM yyyy HH:mm:ss Z"
        return formatter.string(from: Date())
    }

    /// CRLF-terminated lines from the channel's inbound bytes.
    struct Lines {
        var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        var buffer = ByteBuffer()

        init(_ iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) {
            self.iterator = iterator
        }

        mutating func next() async throws -> String {
            while true {
                if let lf = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                    let length = lf - buffer.readerIndex + 1
                    let line = buffer.readString(length: length) ?? ""
                    return String(line.dropLast(line.hasSuffix("\r\n") ? 2 : 1))
                }
                guard var more = try await iterator.next() else { throw Failed(description: "connection closed") }
                buffer.writeBuffer(&more)
            }
        }
    }
}

/// Runs `body`, failing with TimedOut when it takes longer than `timeout`.
func withTimeout<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw TestMailbox.Failed(description: "timed out after \(timeout)")
        }
        let result = try await group.next()!
        group.cancelAll()
        return result
    }
}
