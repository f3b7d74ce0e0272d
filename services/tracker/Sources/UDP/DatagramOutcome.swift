/// What became of one datagram, as `beacon_tracker_udp_datagrams_total{outcome}`
/// counts it. Nobody is told: a datagram has no answer, so these counts are
/// the only place a device's mistakes (or an attack) show.
enum DatagramOutcome: String, CaseIterable, Sendable {
    /// Its events are in Redis (a batch may have lost some bad events on the way).
    case accepted
    /// Not JSON: empty, truncated, bit-flipped, invalid UTF-8, nested too deep.
    case invalidJSON = "invalid_json"
    /// JSON, but not an event or a batch (no or an unknown `type`, no good event in the batch).
    case invalidBody = "invalid_body"
    /// One event over `tracker.maxEventBytes`, or a batch over the batch limits.
    case tooLarge = "too_large"
    /// No `writeKey`, or one that is not configured.
    case unauthorized
    /// The app is over `rateLimits.<app>.eventsPerSecond`.
    case rateLimited = "rate_limited"
    /// The buffer or the stream's backlog was full, or Redis did not take the events in time.
    case unavailable

    /// The outcome of an HTTP-style refusal from the shared intake core.
    init(_ rejection: TrackerMetrics.Rejection) {
        switch rejection {
        case .invalidJSON: self = .invalidJSON
        case .tooLarge: self = .tooLarge
        case .unauthorized: self = .unauthorized
        case .rateLimited: self = .rateLimited
        case .unavailable: self = .unavailable
        case .invalidBody, .invalidEvent, .unsupportedMediaType, .originNotAllowed: self = .invalidBody
        }
    }
}
