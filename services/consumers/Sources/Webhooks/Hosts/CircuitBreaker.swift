import BeaconCore

/// One host's circuit breaker: closed while calls succeed; open after
/// `threshold` consecutive failures, for a cooldown that doubles (up to five
/// minutes) while the host stays down; then half-open, when one probe call
/// decides. Nothing waits in memory meanwhile: the host's requests are
/// rescheduled to when it may be probed.
struct CircuitBreaker: Sendable {
    enum State: String, Sendable {
        case closed, open, halfOpen = "half_open"
    }

    let threshold: Int
    let cooldown: Duration
    static let maximumCooldown = Duration.seconds(300)

    private(set) var state = State.closed
    private var failures = 0
    private var currentCooldown: Duration
    /// Monotonic seconds when an open breaker lets a probe through.
    private(set) var openUntil = 0.0
    private var probing = false

    init(threshold: Int, cooldown: Duration) {
        self.threshold = threshold
        self.cooldown = cooldown
        currentCooldown = cooldown
    }

    /// Nil when a call may start now; else the monotonic time to come back.
    mutating func admit(now: Double) -> Double? {
        switch state {
        case .closed: return nil
        case .open:
            guard now >= openUntil else { return openUntil }
            state = .halfOpen
            probing = true
            return nil
        case .halfOpen:
            // One probe at a time; the others wait for its verdict.
            if probing { return now + 1 }
            probing = true
            return nil
        }
    }

    mutating func succeeded() {
        state = .closed
        failures = 0
        probing = false
        currentCooldown = cooldown
    }

    /// True when this failure opened the breaker.
    @discardableResult
    mutating func failed(now: Double) -> Bool {
        failures += 1
        switch state {
        case .halfOpen:
            probing = false
            currentCooldown = min(currentCooldown * 2, Self.maximumCooldown)
            open(now: now)
            return true
        case .closed where failures >= threshold:
            open(now: now)
            return true
        default:
            return false
        }
    }

    private mutating func open(now: Double) {
        state = .open
        openUntil = now + currentCooldown.inSeconds
    }
}
