import Dispatch

extension Duration {
    /// Seconds, with their fraction (rates, Foundation dates).
    public var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Whole milliseconds, rounded down and never negative (librdkafka's timeouts).
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = max(.zero, self).components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }

    /// For Dispatch waits: never negative, capped at a year.
    public var dispatchInterval: DispatchTimeInterval {
        let (seconds, attoseconds) = max(.zero, self).components
        return .nanoseconds(Int(min(seconds, 86_400 * 365)) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
    }
}
