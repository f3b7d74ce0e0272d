/// Entries on their way to Redis, from one HTTP request or one datagram. The
/// writer calls `finish` once with the outcome, so a 2xx always means "in
/// Redis". Events go to the events stream (and the overflow one); a request
/// that names a `stream` (mail registrations) has all its entries written there.
final class WriteRequest: Sendable {
    enum Outcome: Sendable, Equatable {
        case stored
        /// Redis could not take the events in time; the client should retry.
        case unavailable(String)
    }

    let events: AdmittedEvents
    /// nil: the events streams (`main` to the stream, `overflow` to the
    /// overflow stream); otherwise every entry goes to this stream.
    let stream: String?
    let deadline: ContinuousClock.Instant
    private let completion: @Sendable (Outcome) -> Void

    init(
        events: AdmittedEvents, stream: String? = nil, deadline: ContinuousClock.Instant,
        completion: @escaping @Sendable (Outcome) -> Void
    ) {
        self.events = events
        self.stream = stream
        self.deadline = deadline
        self.completion = completion
    }

    /// What the request holds of the queue's capacity.
    var weight: Int { events.count }

    func finish(_ outcome: Outcome) {
        completion(outcome)
    }
}
