import BeaconRedis
import BeaconTestSupport
import Foundation
import Testing

/// Slow and idle clients against the real tracker and Redis: stalled
/// connections are closed within their timeouts while good requests are
/// served, and a connection over the limit is refused and counted.
@Suite(.serialized) struct SlowClientTests {
    let stack = BeaconStack()
    static let head = 1_000, body = 1_500, idle = 2_000

    func closedCount(_ tracker: ServiceProcess, _ reason: String) async throws -> Double {
        PrometheusText.value(
            try await HTTP.get("\(tracker.baseURL)/metrics").text, #"beacon_tracker_connections_closed_total{reason="\#(reason)"}"#)
    }

    @Test func stalledConnectionsAreClosedInTimeWhileGoodRequestsAreServed() async throws {
        let tracker = try await stack.startTracker(extra: [
            "BEACON_TRACKER_REQUEST_HEAD_TIMEOUT_MS": String(Self.head),
            "BEACON_TRACKER_REQUEST_BODY_TIMEOUT_MS": String(Self.body),
            "BEACON_TRACKER_IDLE_TIMEOUT_MS": String(Self.idle),
        ])
        let redis = try RedisConnection(try TestEnvironment.redisURL())
        defer { _ = try? redis.command(["DEL", stack.stream]) }
        let good = "POST /v1/track HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            + "Authorization: \(HTTP.basicAuth(BeaconStack.writeKey))\r\nContent-Length: 31\r\n\r\n"
            + #"{"userId":"u1","event":"Idler"}"#

        let opened = ContinuousClock.now
        var halfHeads: [RawConnection] = [], halfBodies: [RawConnection] = [], idlers: [RawConnection] = []
        for _ in 0..<20 {
            let halfHead = try RawConnection(port: tracker.port)
            try halfHead.send("POST /v1/track HTTP/1.1\r\nHost: t\r\nContent-Ty")
            halfHeads.append(halfHead)
            let halfBody = try RawConnection(port: tracker.port)
            try halfBody.send("POST /v1/batch HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"batch\":[")
            halfBodies.append(halfBody)
        }
        // The idle wait starts at each answer: after this, and before `answered`.
        let idleSent = ContinuousClock.now
        for _ in 0..<5 {
            let idler = try RawConnection(port: tracker.port)
            try idler.send(good)
            idlers.append(idler)
        }
        try await Await.condition("the idle connections' requests to be answered", timeout: .seconds(10)) {
            idlers.allSatisfy(\.hasResponse)
        }
        let answered = ContinuousClock.now
        #expect(idlers.allSatisfy { $0.text.hasPrefix("HTTP/1.1 200") }, "\(idlers[0].text)")

        // Good traffic meanwhile, on connections of its own, until every stalled one is closed.
        var served = 0
        func serveOne() async throws {
            let reply = try await HTTP.postJSON(
                "\(tracker.baseURL)/v1/track", json: ["userId": "u2", "event": "Meanwhile", "messageId": "\(stack.runId)-\(served)"],
                writeKey: BeaconStack.writeKey)
            #expect(reply.status == 200, "\(reply.text)")
            served += 1
        }
        // Three right away, with the stalled connections just opened, then
        // one per poll until they are all closed.
        for _ in 0..<3 { try await serveOne() }
        var closedAt: [String: ContinuousClock.Instant] = [:]
        try await Await.condition("every stalled connection to be closed", timeout: .seconds(15), every: .milliseconds(50)) {
            try await serveOne()
            for (name, group) in [("head", halfHeads), ("body", halfBodies), ("idle", idlers)]
            where closedAt[name] == nil && group.allSatisfy({ $0.isClosed() }) {
                closedAt[name] = ContinuousClock.now
            }
            return closedAt.count == 3
        }
        // Not before the timeout, and not long after (polling and a loaded machine add a little).
        // Each wait began between `earliest` and `latest`.
        for (name, timeout, earliest, latest) in [
            ("head", Self.head, opened, opened), ("body", Self.body, opened, opened), ("idle", Self.idle, idleSent, answered),
        ] {
            let closed = try #require(closedAt[name])
            #expect(closed - earliest >= .milliseconds(timeout - 100), "\(name) closed after \(closed - earliest)")
            #expect(closed - latest <= .milliseconds(timeout + 3_000), "\(name) closed after \(closed - latest)")
        }
        #expect(served >= 3)
        #expect(halfHeads.allSatisfy { $0.text.isEmpty }, "a half-sent head is closed without an answer")
        for connection in halfBodies {
            #expect(connection.text.hasPrefix("HTTP/1.1 408"), "\(connection.text)")
            #expect(connection.text.contains(#""code":"request_timeout""#))
        }
        #expect(try await closedCount(tracker, "head_timeout") >= 20)
        #expect(try await closedCount(tracker, "body_timeout") == 20)
        #expect(try await closedCount(tracker, "idle_timeout") >= 5)
        #expect(try StreamEvents.count(redis, stream: stack.stream) >= 5 + served)
        #expect(tracker.errorLines().isEmpty, "\(tracker.errorLines().prefix(3))")
        try await tracker.terminate()
    }

    @Test func aConnectionOverTheLimitIsRefusedAtOnceAndCounted() async throws {
        let tracker = try await stack.startTracker(extra: ["BEACON_TRACKER_MAX_CONNECTIONS": "4"])
        let redis = try RedisConnection(try TestEnvironment.redisURL())
        defer { _ = try? redis.command(["DEL", stack.stream]) }
        // Wait until the health checks' connections are gone, so that the four places are free.
        try await Await.condition("the tracker to have no open connection but this poll's") {
            PrometheusText.value(try await HTTP.get("\(tracker.baseURL)/metrics").text, "beacon_tracker_open_connections") <= 1
        }
        let refusedBefore = PrometheusText.value(
            try await HTTP.get("\(tracker.baseURL)/metrics").text, "beacon_tracker_connections_refused_total")

        // Four places: each proven taken by an answered request (URLSession's own connection may hold one).
        var holders: [RawConnection] = []
        while holders.count < 4 {
            let holder = try RawConnection(port: tracker.port)
            try holder.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            try await Await.condition("a holder to be answered or closed", timeout: .seconds(10)) { holder.hasResponse || holder.isClosed() }
            if holder.hasResponse { holders.append(holder) } else { break }
        }
        let extra = try RawConnection(port: tracker.port)
        try extra.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        try await Await.condition("the connection over the limit to be closed", timeout: .seconds(5)) { extra.isClosed() }
        #expect(extra.text.isEmpty, "refused without an answer: \(extra.text)")
        #expect(holders.allSatisfy { !$0.isClosed() }, "the admitted ones stay open")

        holders.removeAll()  // frees every place
        try await Await.condition("the refusal to be counted once places are free") {
            let metrics = try? await HTTP.get("\(tracker.baseURL)/metrics").text
            return metrics.map { PrometheusText.value($0, "beacon_tracker_connections_refused_total") >= refusedBefore + 1 } ?? false
        }
        try await tracker.terminate()
    }
}
