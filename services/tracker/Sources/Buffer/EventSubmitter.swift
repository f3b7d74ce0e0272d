/// The one way into the Redis writer, for HTTP requests and datagrams alike:
/// refuses at once while the backlog or the buffer is full, otherwise queues
/// the events with a deadline the writer answers by. Nobody waits on it: the
/// outcome reaches the caller's completion (HTTP answers from there).
struct EventSubmitter: Sendable {
    let queue: EventQueue<WriteRequest>
    let writer: StreamWriter
    /// How long a request may wait for Redis before it is answered 503.
    let ackTimeout: Duration

    /// Queues the events (for the events streams, or all for `stream`);
    /// `completion` learns the outcome, from the writer's thread. False when
    /// they were refused at once.
    func submit(
        _ events: AdmittedEvents, to stream: String? = nil, completion: @escaping @Sendable (WriteRequest.Outcome) -> Void
    ) -> Bool {
        guard !writer.isBacklogFull else { return false }
        let request = WriteRequest(events: events, stream: stream, deadline: .now + ackTimeout, completion: completion)
        return queue.push(request, weight: request.weight)
    }
}
