/// Exponential backoff with jitter for a loop retrying something that
/// failed (a connection, a write). Its waits end when the loop is told to
/// stop, so no retry delays a shutdown.
public struct Backoff: Sendable {
    public let initial: Duration
    public let maximum: Duration
    public private(set) var current: Duration

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(2)) {
        precondition(initial > .zero && maximum >= initial, "need 0 < initial <= maximum")
        self.initial = initial
        self.maximum = maximum
        current = initial
    }

    /// The next delay: the current one with jitter (between half and all of
    /// it); the one after is twice as long, up to `maximum`.
    public mutating func next() -> Duration {
        let delay = current * Double.random(in: 0.5...1.0)
        current = min(current * 2, maximum)
        return delay
    }

    /// Waits the next delay; false when the loop is told to stop meanwhile.
    @discardableResult
    public mutating func wait(_ control: LoopControl) -> Bool {
        control.pause(next())
    }

    /// After a success: the next failure waits `initial` again.
    public mutating func reset() { current = initial }
}
