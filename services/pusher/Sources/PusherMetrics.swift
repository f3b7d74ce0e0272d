import Metrics
import Synchronization

/// The pusher's metrics per app and platform, made on first use and kept.
final class PusherMetrics: Sendable {
    let inFlight = Gauge(label: "beacon_pusher_in_flight")
    private let counters = Mutex<[String: Counter]>([:])
    private let timers = Mutex<[String: Timer]>([:])

    func counter(_ name: String, app: String, platform: String, reason: String? = nil) -> Counter {
        var dimensions = [("app", app), ("platform", platform)]
        if let reason { dimensions.append(("reason", reason)) }
        let key = name + dimensions.map { "|\($0.1)" }.joined()
        return counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: name, dimensions: dimensions)
            counters[key] = counter
            return counter
        }
    }

    func latency(app: String, platform: String) -> Timer {
        timers.withLock { timers in
            let key = "\(app)|\(platform)"
            if let timer = timers[key] { return timer }
            let timer = Timer(label: "beacon_pusher_latency_seconds", dimensions: [("app", app), ("platform", platform)])
            timers[key] = timer
            return timer
        }
    }

    func record(_ outcome: PushOutcome, app: String, platform: String) {
        if outcome.status != .dryRun && outcome.status != .invalidRequest && outcome.status != .noCredentials {
            counter("beacon_pusher_sent_total", app: app, platform: platform).increment()
        }
        if outcome.attempts > 1 {
            counter("beacon_pusher_retried_total", app: app, platform: platform).increment(by: outcome.attempts - 1)
        }
        switch outcome.status {
        case .delivered:
            counter("beacon_pusher_delivered_total", app: app, platform: platform).increment()
            let (seconds, attoseconds) = outcome.latency.components
            latency(app: app, platform: platform).recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        case .dryRun:
            counter("beacon_pusher_dry_run_total", app: app, platform: platform).increment()
        default:
            counter("beacon_pusher_failed_total", app: app, platform: platform, reason: outcome.status.rawValue).increment()
        }
    }
}
