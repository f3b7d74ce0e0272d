import BeaconRedis
import BeaconTestSupport
import Foundation
import Testing

@Suite struct RedisTests {
    @Test func parsesURLs() throws {
        let url = try RedisURL("redis://:secret@cache.local:6380/2")
        #expect(url.host == "cache.local")
        #expect(url.port == 6380)
        #expect(url.password == "secret")
        #expect(url.database == 2)
        #expect(url.description == "redis://cache.local:6380/2")
        #expect(try RedisURL("redis://127.0.0.1").port == 6379)
        #expect(throws: RedisError.invalidURL("http://x")) { try RedisURL("http://x") }
        #expect(throws: RedisError.self) { try RedisURL("redis://host:99999") }
    }

    @Test func pipelinesCommandsAndKeepsBinaryValues() throws {
        let redis = try RedisConnection(try TestEnvironment.redisURL())
        let key = "test:binary:\(UUID())"
        let value: [UInt8] = [0, 1, 2, 0xFF, 0x0A, 0]
        try redis.append([Array("SET".utf8), Array(key.utf8), value])
        try redis.append(["GET", key])
        try redis.append(["DEL", key])
        #expect(try redis.readReply() == .status("OK"))
        #expect(try redis.readReply() == .string(value))
        #expect(try redis.readReply() == .integer(1))
    }

    @Test func errorRepliesCarryTheServerMessage() throws {
        let redis = try RedisConnection(try TestEnvironment.redisURL())
        let reply = try redis.command(["NOSUCHCOMMAND"])
        guard case .error(let message) = reply else { Issue.record("expected an error reply, got \(reply)"); return }
        #expect(message.contains("unknown command"))
        #expect(throws: RedisError.self) { try reply.checked() }
    }

    @Test func connectionFailureIsAClearError() throws {
        let port = FreePort.next()
        #expect {
            _ = try RedisConnection("redis://127.0.0.1:\(port)", timeout: .milliseconds(500))
        } throws: { error in
            guard let error = error as? RedisError, error.isConnectionError else { return false }
            return error.description.contains("127.0.0.1:\(port)") && error.description.contains("refused")
        }
    }

    @Test func readsStreamsThroughAConsumerGroup() throws {
        let redis = try RedisConnection(try TestEnvironment.redisURL())
        let stream = "test:stream:\(UUID())"
        defer { _ = try? redis.command(["DEL", stream]) }
        try redis.command(["XGROUP", "CREATE", stream, "g", "0", "MKSTREAM"]).checked()
        for index in 0..<3 { try redis.command(["XADD", stream, "*", "e", "event-\(index)"]).checked() }
        let read = try StreamMessage.parseRead(try redis.command(["XREADGROUP", "GROUP", "g", "c1", "COUNT", "10", "STREAMS", stream, ">"]))
        #expect(read.map { $0.field("e").map { String(decoding: $0, as: UTF8.self) } } == ["event-0", "event-1", "event-2"])
        // Another consumer takes over what c1 left pending.
        let claimed = try StreamMessage.parseAutoClaim(try redis.command(["XAUTOCLAIM", stream, "g", "c2", "0", "0-0", "COUNT", "10"]))
        #expect(claimed.messages.map(\.id) == read.map(\.id))
        let acked = try redis.command(["XACK", stream, "g"] + read.map(\.id)).checked()
        #expect(acked == .integer(3))
        let empty = try StreamMessage.parseRead(try redis.command(["XREADGROUP", "GROUP", "g", "c1", "COUNT", "10", "STREAMS", stream, "0"]))
        #expect(empty.isEmpty)
    }
}
