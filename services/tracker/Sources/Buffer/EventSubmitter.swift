/// The one way into the Redis writer, for HTTP requests and datagrams alike:
/// refuses at once while the backlog or the buffer is full, otherwise queues
/// the events with a deadline the writer answers by.
struct EventSubmitter: Sendable {
    let queue: EventQueue<WriteRequest>
    let writer: StreamWriter
    /// How long a request may wait for Redis before it is answered 503.
    let ackTimeout: Duration

    /// Queues the events and waits until Redis has them (HTTP: the answer is 2xx only then).
    func store(_ events: AdmittedEvents) async throws(IntakeError) {
        guard !writer.isBacklogFull else {
            throw IntakeError.unavailable("the event backlog is full; retry later")
        }
        let deadline = ContinuousClock.now + ackTimeout
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<WriteRequest.Outcome, Never>) in
            let request = WriteRequest(events: events, deadline: deadline) { continuation.resume(returning: $0) }
            if !queue.push(request, weight: request.weight) {
                request.finish(.unavailable("the tracker's buffer is full; retry later"))
            }
        }
        if case .unavailable(let reason) = outcome { throw IntakeError.unavailable(reason) }
    }

    /// Queues the events without waiting (UDP: nobody to answer); `completion`
    /// learns the outcome. False when they were refused at once.
    func submit(_ events: AdmittedEvents, completion: @escaping @Sendable (WriteRequest.Outcome) -> Void) -> Bool {
        guard !writer.isBacklogFull else { return false }
        let request = WriteRequest(events: events, deadline: .now + ackTimeout, completion: completion)
        return queue.push(request, weight: request.weight)
    }
}
