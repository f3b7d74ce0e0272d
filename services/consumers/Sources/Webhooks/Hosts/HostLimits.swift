/// The per-host protection every host gets: how many calls at once, how
/// many started per second, and when its circuit breaker opens.
struct HostLimits: Sendable, Equatable {
    let concurrency: Int
    /// 0: no rate limit.
    let ratePerSecond: Int
    let breakerFailures: Int
    let breakerCooldown: Duration
}
