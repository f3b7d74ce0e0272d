import BeaconTestSupport
import Foundation
import Testing

/// While the tracker's Redis is away, every request is answered 503 by its
/// own deadline (tracker.ackTimeoutMs), whether it was in the batch being
/// written or queued behind it, and intake recovers when Redis is back.
@Suite(.serialized) struct RedisOutageTests {
    @Test func queuedRequestsAreAnsweredByTheirOwnDeadline() async throws {
        let redis = try TestEnvironment.redisURL()
        let redisPort = try #require(URLComponents(string: redis)?.port)
        let proxy = TCPProxy(target: redisPort)
        try await proxy.resume()
        defer { Task { await proxy.shutdown() } }
        let stack = BeaconStack()
        let ackTimeoutMs = 300
        let tracker = try await stack.startTracker(
            redisURL: "redis://127.0.0.1:\(proxy.port)", extra: ["BEACON_TRACKER_ACK_TIMEOUT_MS": String(ackTimeoutMs)])
        let first = try await HTTP.postJSON("\(tracker.baseURL)/v1/track", json: ["event": "Before", "userId": "u"], writeKey: BeaconStack.writeKey)
        #expect(first.status == 200, "\(first.text)")

        await proxy.pause()
        // Waves of concurrent requests, so that some arrive while the writer
        // is backing off with a batch in hand and queue behind it.
        var waits: [Duration] = []
        let auth = ["Authorization": HTTP.basicAuth(BeaconStack.writeKey), "Content-Type": "application/json"]
        for _ in 0..<4 {
            let wave = await withTaskGroup(of: Result<(Int, Duration, String?), any Error>.self) { group in
                for index in 0..<10 {
                    group.addTask {
                        await Self.timed(port: tracker.port, RawConnection.request(
                            "POST", "/v1/track", headers: auth, body: #"{"event":"During","userId":"u-\#(index)"}"#))
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            for result in wave {
                let (status, waited, retryAfter) = try result.get()
                #expect(status == 503, "Redis is away")
                #expect(retryAfter == "1")
                waits.append(waited)
            }
        }
        // Before, a queued request also waited out the writer's backoff (up
        // to 2 s), so most took well over a second. The median is held to the
        // deadline plus the writer's 100 ms check and slack for a loaded
        // machine; the longest only to a loose bound (a starved debug process
        // can stall any single request).
        let sorted = waits.sorted()
        let median = sorted[sorted.count / 2], longest = sorted[sorted.count - 1]
        #expect(median < .milliseconds(ackTimeoutMs + 500), "median wait \(median), longest \(longest)")
        #expect(longest < .milliseconds(ackTimeoutMs + 5_000), "longest wait \(longest)")

        try await proxy.resume()
        try await Await.condition("intake is back", timeout: .seconds(30), every: .milliseconds(200)) {
            try await HTTP.postJSON("\(tracker.baseURL)/v1/track", json: ["event": "After", "userId": "u"], writeKey: BeaconStack.writeKey).status == 200
        }
    }

    /// One request on a connection of its own, timed from its first byte to
    /// the whole answer. On a GCD thread (blocking reads), and not through
    /// URLSession, whose connections per host are shared with every test
    /// running meanwhile: waiting for one of them is not the tracker's wait.
    static func timed(port: Int, _ request: String) async -> Result<(Int, Duration, String?), any Error> {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: Result {
                    let connection = try RawConnection(port: port)
                    let started = ContinuousClock.now
                    try connection.send(request)
                    let response = try connection.readResponse()
                    return (response.status, ContinuousClock.now - started, response.headers["retry-after"])
                })
            }
        }
    }
}
