/// A token bucket: `rate` tokens a second, at most `burst` held. Time is
/// passed in (seconds on a monotonic clock), so it is a plain value that a
/// lock or a test can own.
public struct TokenBucket: Sendable {
    public let rate: Double
    public let burst: Double
    public private(set) var tokens: Double
    private var updated: Double

    public init(rate: Double, burst: Double, now: Double) {
        self.rate = rate
        self.burst = burst
        tokens = burst
        updated = now
    }

    /// Takes `count` tokens, or none: nil when taken, else the seconds until
    /// there would be enough. More than the burst is taken once the bucket is
    /// full, leaving it in debt, so a large batch is slowed, not refused forever.
    public mutating func take(_ count: Int, now: Double) -> Double? {
        refill(now)
        let needed = min(Double(count), burst)
        guard tokens >= needed else { return (needed - tokens) / rate }
        tokens -= Double(count)
        return nil
    }

    /// True when the bucket has refilled to its burst: it then behaves like a
    /// new one, so it may be forgotten.
    public func isFull(now: Double) -> Bool {
        tokens + (now - updated) * rate >= burst
    }

    /// Whole tokens there now (what a reader paced by the bucket may take).
    public mutating func available(now: Double) -> Int {
        refill(now)
        return max(0, Int(tokens.rounded(.down)))
    }

    /// Seconds until one whole token is there (0 when there is one).
    public func secondsUntilToken(now: Double) -> Double {
        let have = tokens + max(0, now - updated) * rate
        return have >= 1 ? 0 : (1 - have) / rate
    }

    private mutating func refill(_ now: Double) {
        guard now > updated else { return }
        tokens = min(burst, tokens + (now - updated) * rate)
        updated = now
    }
}
