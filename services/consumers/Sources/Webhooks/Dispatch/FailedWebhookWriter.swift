import BeaconCore
import BeaconKafka
import Foundation

/// Sends a request that failed for good, with its whole history, to
/// `beacon.webhooks.failed` (keyed by its id), where `replay` finds it.
struct FailedWebhookWriter: Sendable {
    let sender: KafkaSender
    let topic: String

    func park(_ webhook: ScheduledWebhook, reason: String) async throws {
        var record = webhook.json.objectValue ?? JSONObject()
        record["reason"] = .string(reason)
        record["failedAt"] = .string(Timestamp.iso8601(Date()))
        _ = try await sender.send(OutgoingMessage(topic: topic, key: webhook.request.id, value: JSONWriter.bytes(.object(record))))
    }
}

/// Publishes attempts to `beacon.webhooks.attempts`, keyed by request id,
/// for the live view to tail. Best effort, like the log.
struct AttemptPublisher: Sendable {
    let sender: KafkaSender
    let topic: String

    func publish(_ attempts: [WebhookAttempt]) async throws {
        _ = try await sender.send(attempts.map { attempt in
            OutgoingMessage(topic: topic, key: attempt.requestId, value: JSONWriter.bytes(attempt.json))
        })
    }
}
