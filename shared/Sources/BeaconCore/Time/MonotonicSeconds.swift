/// Seconds since an origin on the monotonic clock, as a Double: what token
/// buckets count in.
public struct MonotonicSeconds: Sendable {
    private let origin = ContinuousClock.now

    public init() {}

    public var now: Double {
        let elapsed = ContinuousClock.now - origin
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}
