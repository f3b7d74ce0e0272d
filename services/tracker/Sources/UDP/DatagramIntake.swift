/// The UDP intake: each datagram judged, its events queued for the same
/// writer as HTTP's without waiting (nobody waits for an answer), and its
/// outcome counted once it is known: at once when refused, when Redis has
/// the events (or gave up on them) when accepted.
struct DatagramIntake: Sendable {
    let reader: DatagramReader
    let submitter: EventSubmitter
    let metrics: TrackerMetrics

    func take(_ datagram: some Collection<UInt8>, source: String?, receivedAt: String) {
        switch reader.judge(datagram, source: source, receivedAt: receivedAt) {
        case .refused(let outcome, _):
            metrics.datagram(outcome)
        case .accepted(let events, let app, let rejectedEvents):
            if rejectedEvents > 0 { metrics.udpInvalidEvents.increment(by: rejectedEvents) }
            let metrics = metrics
            let queued = submitter.submit(events) { outcome in
                switch outcome {
                case .stored:
                    metrics.accepted(app: app, count: events.count)
                    metrics.datagram(.accepted)
                case .unavailable:
                    metrics.datagram(.unavailable)
                }
            }
            if !queued { metrics.datagram(.unavailable) }
        }
    }
}
