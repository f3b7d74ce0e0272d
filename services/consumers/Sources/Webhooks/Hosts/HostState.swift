import BeaconCore

/// What the dispatcher knows about one host: calls in flight, its rate
/// bucket, its breaker, and until when it asked to be left alone (429).
struct HostState: Sendable {
    var active = 0
    var bucket: TokenBucket?
    var breaker: CircuitBreaker
    /// Monotonic seconds; 0: not paused.
    var pausedUntil = 0.0
    /// Claimed requests waiting for a slot, oldest first.
    var waiting: [ScheduledWebhook] = []
    var waitingStart = 0

    init(limits: HostLimits, now: Double) {
        bucket = limits.ratePerSecond > 0
            ? TokenBucket(rate: Double(limits.ratePerSecond), burst: Double(max(1, limits.ratePerSecond / 10)), now: now) : nil
        breaker = CircuitBreaker(threshold: limits.breakerFailures, cooldown: limits.breakerCooldown)
    }

    var waitingCount: Int { waiting.count - waitingStart }

    mutating func popWaiting() -> ScheduledWebhook? {
        guard waitingStart < waiting.count else { return nil }
        let next = waiting[waitingStart]
        waitingStart += 1
        if waitingStart > 64, waitingStart * 2 > waiting.count {
            waiting.removeFirst(waitingStart)
            waitingStart = 0
        }
        return next
    }

    mutating func drainWaiting() -> [ScheduledWebhook] {
        defer { waiting = []; waitingStart = 0 }
        return Array(waiting[waitingStart...])
    }

    /// Nothing in flight, waiting, paused or tripped: the entry can go.
    var isIdle: Bool { active == 0 && waitingCount == 0 && breaker.state == .closed }
}
