import BeaconCore
import Foundation
import Logging
import Testing
@testable import TrackerService

/// The token buckets and what the tracker does with them: refuse the app's
/// excess, send a hot user's excess to the overflow stream.
@Suite struct RateLimitTests {
    static func event(_ user: String?) -> IntakeEvent {
        IntakeEvent(bytes: Array(#"{"event":"E"}"#.utf8), user: user)
    }

    @Test func aBucketRefillsAtItsRateUpToItsBurst() {
        var bucket = TokenBucket(rate: 10, burst: 5, now: 0)
        #expect(bucket.take(5, now: 0) == nil)
        let wait = bucket.take(1, now: 0)
        #expect(wait.map { abs($0 - 0.1) < 1e-9 } == true, "one token takes 1/10 s: \(String(describing: wait))")
        #expect(bucket.take(1, now: 0.1) == nil)
        #expect(bucket.available(now: 100) == 5, "never more than the burst")
    }

    @Test func moreThanTheBurstPassesOnceFullAndLeavesDebt() {
        var bucket = TokenBucket(rate: 10, burst: 5, now: 0)
        #expect(bucket.take(8, now: 0) == nil, "a batch larger than the burst is not refused forever")
        #expect(bucket.tokens == -3)
        #expect(bucket.take(1, now: 0.35) != nil, "the debt is paid first")
        #expect(bucket.take(1, now: 0.4) == nil)
    }

    @Test func theAppsExcessIsRefusedWithTheWait() throws {
        let metrics = TrackerMetrics(apps: ["shop"])
        let admission = EventAdmission(limits: ["shop": RateLimit(eventsPerSecond: 0.5, burst: 2)], trackedUsers: 100, metrics: metrics)
        let admitted = try admission.admit([Self.event("a"), Self.event("b")], app: "shop", writeKey: "key")
        #expect(admitted.main.count == 2 && admitted.overflow.isEmpty)
        do {
            _ = try admission.admit([Self.event("a")], app: "shop", writeKey: "key")
            Issue.record("a third event within the second must be refused")
        } catch {
            #expect(error.status == .tooManyRequests)
            #expect(error.code == .rateLimited)
            #expect(error.retryAfterSeconds == 2, "one token at 0.5/s takes 2 s")
            let response = error.response
            #expect(response.headers.first(name: "retry-after") == "2")
            #expect(response.headers.first(name: "x-ratelimit-reset") == "2")
        }
        // Another app is not limited by this one's bucket.
        #expect(try admission.admit([Self.event("a")], app: "blog", writeKey: "key").main.count == 1)
    }

    @Test func aHotUsersExcessGoesToTheOverflowStream() throws {
        let metrics = TrackerMetrics(apps: ["shop"])
        let admission = EventAdmission(limits: ["shop": RateLimit(userEventsPerSecond: 0.001, userBurst: 3)], trackedUsers: 100, metrics: metrics)
        let hot = (0..<10).map { _ in Self.event("hot") }
        let admitted = try admission.admit(hot + [Self.event("calm"), Self.event(nil)], app: "shop", writeKey: "key")
        #expect(admitted.main.count == 3 + 2, "the hot user's burst, the calm user and the event without a user")
        #expect(admitted.overflow.count == 7)
    }

    @Test func userBucketsAreBoundedAndForgetRefilledOnesFirst() {
        let buckets = UserBuckets(capacity: 32, shards: 2)
        let limit = RateLimit(userEventsPerSecond: 1, userBurst: 1)
        for user in 0..<1_000 {
            #expect(buckets.take("user-\(user)", limit: limit, now: 0))
        }
        #expect(buckets.count <= 32, "\(buckets.count) buckets kept")
        // A user still in debt is remembered while refilled ones make room.
        #expect(buckets.take("hot", limit: limit, now: 10))
        for user in 0..<10 { _ = buckets.take("other-\(user)", limit: limit, now: 10.5) }
        #expect(!buckets.take("hot", limit: limit, now: 10.5), "hot's bucket, emptied half a second ago, was kept")
    }
}
