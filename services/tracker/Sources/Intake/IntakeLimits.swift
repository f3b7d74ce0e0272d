/// The bounds the tracker puts on what it accepts.
struct IntakeLimits: Sendable {
    var maxEventBytes = 32 * 1024
    var maxRequestBytes = 500 * 1024
    var maxBatchEvents = 2_500
    /// How long a request may wait for Redis before it is answered 503.
    var ackTimeout: Duration = .seconds(2)
}
