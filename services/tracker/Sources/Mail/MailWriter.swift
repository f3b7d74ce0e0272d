import BeaconCore

/// Writes mail registration messages to the tracker's mail stream through
/// the same writer (and bounds, and deadline) as events; the answer waits
/// for Redis' acknowledgement.
struct MailWriter: Sendable {
    let submitter: EventSubmitter
    let stream: String

    /// `.stored` once Redis took the XADD.
    func write(_ message: MailRegistrationMessage) async -> WriteRequest.Outcome {
        let entry = AdmittedEvents(main: [JSONWriter.bytes(message.json)])
        return await withCheckedContinuation { continuation in
            let queued = submitter.submit(entry, to: stream) { outcome in continuation.resume(returning: outcome) }
            if !queued {
                continuation.resume(returning: .unavailable("the tracker's buffer or the event backlog is full; retry later"))
            }
        }
    }
}
