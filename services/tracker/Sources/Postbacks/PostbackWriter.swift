import BeaconCore

/// Writes a job's webhook requests to the webhook stream, one entry each,
/// in one write request through the events' writer (its bounds, its
/// deadline): the job is answered once Redis acknowledged all of them.
struct PostbackWriter: Sendable {
    let submitter: EventSubmitter
    let stream: String

    /// `.stored` once Redis took every XADD.
    func write(_ requests: [WebhookRequest]) async -> WriteRequest.Outcome {
        let entries = AdmittedEvents(main: requests.map { JSONWriter.bytes($0.json) })
        return await withCheckedContinuation { continuation in
            let queued = submitter.submit(entries, to: stream) { outcome in continuation.resume(returning: outcome) }
            if !queued {
                continuation.resume(returning: .unavailable("the tracker's buffer or the event backlog is full; retry later"))
            }
        }
    }
}
