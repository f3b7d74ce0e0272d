import BeaconCore
import BeaconKafka
import Logging

/// What becomes of one push request from the topic: it is read, sent (with
/// the retries `PushSender` allows), counted, logged, its dead token queued
/// for removal, and its outcome recorded on the feedback topic.
struct PushDelivery: Sendable {
    let sender: PushSender
    /// Where an outcome goes: the feedback topic, and dead tokens to the remover.
    let feedback: FeedbackWriter, remover: InvalidTokenRemover
    let metrics: PusherMetrics
    let logger: Logger

    /// Calls `sent` as soon as the send is over (its slot is free), then
    /// records the outcome; true once it is on the feedback topic, false when
    /// the task was cancelled first (the request is then delivered again).
    func deliver(_ message: KafkaMessage, sent: () -> Void) async -> Bool {
        let raw = try? JSONParser.parse(message.value)
        var request: PushRequest?
        let outcome: PushOutcome
        do {
            guard let raw else { throw ServiceError.permanent("not JSON") }
            let parsed = try PushRequest(json: raw)
            request = parsed
            outcome = await sender.send(parsed)
        } catch {
            outcome = PushOutcome(status: .invalidRequest, reason: "\(error)", attempts: 0, latency: .zero)
        }
        sent()
        if outcome.status == .invalidToken, let request { remover.add(app: request.app, token: request.token) }
        metrics.record(outcome, app: request?.app ?? "unknown", platform: request?.platform.rawValue ?? "unknown")
        log(outcome, for: request)

        // The outcome must be recorded before the offset may move: keep trying.
        let record = outcome.feedback(for: request, raw: raw)
        var backoff = Duration.milliseconds(100)
        while true {
            do {
                try await feedback.write(record, key: request?.token ?? "")
                return true
            } catch {
                if Task.isCancelled { return false }
                logger.warning("feedback write failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }

    private func log(_ outcome: PushOutcome, for request: PushRequest?) {
        var logger = logger.with("requestId", request?.requestId ?? "-")
        if let source = request?.sourceMessageId { logger[metadataKey: "messageId"] = "\(source)" }
        let level: Logger.Level = outcome.status == .delivered || outcome.status == .dryRun ? .debug : .info
        logger.log(level: level, "push outcome", metadata: [
            "status": "\(outcome.status.rawValue)", "reason": "\(outcome.reason ?? "")", "attempts": "\(outcome.attempts)",
        ])
    }
}
