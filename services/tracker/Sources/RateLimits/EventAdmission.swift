import BeaconCore
import Foundation
import Synchronization

/// Applies each app's rate limits to a request's events before they are
/// queued. Over the app's bucket, the whole request is refused (429 with
/// Retry-After; nothing is taken). Over a user's bucket, that user's events
/// are still taken but go to the overflow stream, which the enricher drains
/// at a bounded pace, so one hot user cannot starve everyone else.
/// Limits are per tracker process: N replicas behind a balancer let N times
/// the configured rate through.
final class EventAdmission: Sendable {
    private final class AppBucket: Sendable {
        let bucket: Mutex<TokenBucket>
        init(_ bucket: TokenBucket) { self.bucket = Mutex(bucket) }
    }

    private let limits: [String: RateLimit]
    private let appBuckets: [String: AppBucket]
    private let userBuckets: UserBuckets
    private let metrics: TrackerMetrics
    private let clock = MonotonicSeconds()

    init(limits: [String: RateLimit], trackedUsers: Int, metrics: TrackerMetrics) {
        self.limits = limits.filter { $0.value.limitsApp || $0.value.limitsUsers }
        var buckets: [String: AppBucket] = [:]
        for (app, limit) in limits where limit.limitsApp {
            buckets[app] = AppBucket(TokenBucket(rate: limit.eventsPerSecond, burst: limit.appBurst, now: 0))
        }
        appBuckets = buckets
        userBuckets = UserBuckets(capacity: trackedUsers)
        self.metrics = metrics
    }

    /// The events split by stream, or `IntakeError.rateLimited` when the app
    /// is over its rate. A user's bucket is keyed `writeKey:user`.
    func admit(_ events: [IntakeEvent], app: String, writeKey: String) throws(IntakeError) -> AdmittedEvents {
        guard let limit = limits[app] else { return AdmittedEvents(main: events.map(\.bytes)) }
        let now = clock.now
        if let bucket = appBuckets[app], let wait = bucket.bucket.withLock({ $0.take(events.count, now: now) }) {
            metrics.rateLimited(app: app, reason: .appLimit, count: events.count)
            let seconds = max(1, Int((wait as Double).rounded(.up)))
            throw IntakeError.rateLimited(
                "app \(app) is over its rate limit of \(Self.format(limit.eventsPerSecond)) events/s (rateLimits.\(app).eventsPerSecond); retry in \(seconds) s",
                retryAfterSeconds: seconds)
        }
        guard limit.limitsUsers else { return AdmittedEvents(main: events.map(\.bytes)) }
        var admitted = AdmittedEvents()
        admitted.main.reserveCapacity(events.count)
        for event in events {
            if let user = event.user, !userBuckets.take(writeKey + ":" + user, limit: limit, now: now) {
                admitted.overflow.append(event.bytes)
            } else {
                admitted.main.append(event.bytes)
            }
        }
        if !admitted.overflow.isEmpty { metrics.rateLimited(app: app, reason: .userOverflow, count: admitted.overflow.count) }
        return admitted
    }

    private static func format(_ rate: Double) -> String {
        rate == rate.rounded() ? String(Int(rate)) : String(rate)
    }
}
