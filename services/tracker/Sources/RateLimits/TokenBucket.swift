/// A token bucket: `rate` tokens a second, at most `burst` held. Time is
/// passed in (seconds on a monotonic clock), so it is a plain value that a
/// lock or a test can own.
struct TokenBucket: Sendable {
    let rate: Double
    let burst: Double
    private(set) var tokens: Double
    private var updated: Double

    init(rate: Double, burst: Double, now: Double) {
        self.rate = rate
        self.burst = burst
        tokens = burst
        updated = now
    }

    /// Takes `count` tokens, or none: nil when taken, else the seconds until
    /// there would be enough. More than the burst is taken once the bucket is
    /// full, leaving it in debt, so a large batch is slowed, not refused forever.
    mutating func take(_ count: Int, now: Double) -> Double? {
        refill(now)
        let needed = min(Double(count), burst)
        guard tokens >= needed else { return (needed - tokens) / rate }
        tokens -= Double(count)
        return nil
    }

    /// True when the bucket has refilled to its burst: it then behaves like a
    /// new one, so it may be forgotten.
    func isFull(now: Double) -> Bool {
        tokens + (now - updated) * rate >= burst
    }

    private mutating func refill(_ now: Double) {
        guard now > updated else { return }
        tokens = min(burst, tokens + (now - updated) * rate)
        updated = now
    }
}
