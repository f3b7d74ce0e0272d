import Logging

/// The UDP intake: each datagram judged, the accepted ones of a read burst
/// queued together for the same writer as HTTP's without waiting (nobody
/// waits for an answer), and each datagram's outcome counted once it is
/// known: at once when refused, when Redis has the events (or gave up on
/// them) when accepted.
struct DatagramIntake: Sendable {
    let reader: DatagramReader
    let submitter: EventSubmitter
    let metrics: TrackerMetrics
    /// Refusals are logged at debug level only: a device's developer can see
    /// why (`--log-level debug`); a flood of bad datagrams is no flood of logs.
    let logger: Logger

    /// Judges one datagram; an accepted one joins `pending`.
    func take(_ datagram: some Collection<UInt8>, source: String?, receivedAt: String, into pending: inout PendingDatagrams) {
        switch reader.judge(datagram, source: source, receivedAt: receivedAt) {
        case .refused(let outcome, let reason):
            metrics.datagram(outcome)
            logger.debug("udp datagram refused", metadata: ["outcome": "\(outcome.rawValue)", "reason": "\(reason)", "source": "\(source ?? "?")"])
        case .accepted(let events, let app, let rejectedEvents):
            if rejectedEvents > 0 { metrics.udpInvalidEvents.increment(by: rejectedEvents) }
            pending.add(events, app: app)
        }
    }

    /// Queues what a burst accepted as one write.
    func submit(_ pending: PendingDatagrams) {
        guard !pending.isEmpty else { return }
        let metrics = metrics, datagrams = pending.datagrams, eventsByApp = pending.eventsByApp
        let queued = submitter.submit(pending.events) { outcome in
            switch outcome {
            case .stored:
                for (app, count) in eventsByApp { metrics.accepted(app: app, count: count) }
                metrics.datagram(.accepted, count: datagrams)
            case .unavailable:
                metrics.datagram(.unavailable, count: datagrams)
            }
        }
        if !queued { metrics.datagram(.unavailable, count: datagrams) }
    }
}
