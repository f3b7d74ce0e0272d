import BeaconCore

/// When a failed webhook request is tried again: about twice as long after
/// each attempt (from `firstDelay`), drawn from the upper half so that
/// requests failed together do not come back together, and never past
/// `horizon` after the first attempt (24 h by default).
struct WebhookRetryPolicy: Sendable, Equatable {
    let maxAttempts: Int
    let firstDelay: Duration
    let horizon: Duration
    /// Answers no retry changes (by default 400, 401, 403, 404, 410).
    let permanentStatuses: Set<Int>

    enum Decision: Equatable {
        case retry(after: Duration)
        case giveUp(reason: String)
    }

    /// After `attempts` calls, the first `sinceFirst` ago. `requested` is a
    /// delay the partner asked for (`Retry-After`), used when longer.
    func decide(attempts: Int, sinceFirst: Duration, requested: Duration? = nil, random: Double = Double.random(in: 0..<1)) -> Decision {
        guard attempts < maxAttempts else { return .giveUp(reason: "\(attempts) attempts, the most allowed (webhooks.maxAttempts)") }
        let exponent = min(attempts - 1, 40)
        let nominal = firstDelay * Double(1 << UInt64(exponent))
        var delay = nominal / 2 + nominal / 2 * random
        if let requested, requested > delay { delay = requested }
        guard sinceFirst + delay <= horizon else {
            return .giveUp(reason: "the next attempt would fall after the retry horizon (webhooks.retryHorizonSeconds)")
        }
        return .retry(after: delay)
    }

    func isPermanent(status: Int) -> Bool { permanentStatuses.contains(status) }
}
