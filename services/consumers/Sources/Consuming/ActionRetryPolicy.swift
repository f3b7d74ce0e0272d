import BeaconCore

/// What to do after an action failed: try again after a while, or give up
/// and park the event with its error. Permanent failures are parked at once;
/// transient ones are retried, with exponential backoff and jitter, until
/// the attempts run out.
struct ActionRetryPolicy: Sendable, Equatable {
    enum Decision: Equatable {
        case retry(after: Duration)
        case park
    }

    /// Attempts in all, the first included.
    var maxAttempts: Int
    var initialBackoff: Duration
    var maxBackoff: Duration = .seconds(30)

    /// After `attempt` (from 1) failed with `error`.
    func decide(after attempt: Int, failure kind: FailureKind, jitter: Double = .random(in: 0.5...1.0)) -> Decision {
        guard kind == .transient, attempt < maxAttempts else { return .park }
        let exponent = min(attempt - 1, 30)
        let backoff = min(initialBackoff * (1 << exponent), maxBackoff)
        return .retry(after: backoff * jitter)
    }
}
