/// The events of one HTTP request on their way to Redis. The writer resumes
/// the handler once with the outcome, so a 2xx always means "in Redis".
final class WriteRequest: Sendable {
    enum Outcome: Sendable, Equatable {
        case stored
        /// Redis could not take the events in time; the client should retry.
        case unavailable(String)
    }

    let events: [[UInt8]]
    let deadline: ContinuousClock.Instant
    private let continuation: CheckedContinuation<Outcome, Never>

    init(events: [[UInt8]], deadline: ContinuousClock.Instant, continuation: CheckedContinuation<Outcome, Never>) {
        self.events = events
        self.deadline = deadline
        self.continuation = continuation
    }

    func finish(_ outcome: Outcome) {
        continuation.resume(returning: outcome)
    }
}
