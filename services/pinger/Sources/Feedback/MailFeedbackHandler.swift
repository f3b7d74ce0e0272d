import BeaconCore
import BeaconKafka
import Foundation
import Logging

/// Reads push outcomes and ends the mail registrations whose device token
/// APNs or FCM declared invalid. Outcomes are keyed by token, not by
/// registration, so the one that reads it may not own the registration: it
/// writes a `stop` to `beacon.mail.registrations`, keyed by registration id,
/// and the owning instance applies it as any other stop.
struct MailFeedbackHandler: KafkaMessageHandler {
    let sender: KafkaSender
    let mailTopic: String
    let metrics: PingerMetrics
    let logger: Logger

    func handle(_ message: KafkaMessage, from consumer: KafkaConsumer, control: LoopControl) {
        if let stop = Self.stop(for: message.value) {
            var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
            let outgoing = OutgoingMessage(topic: mailTopic, key: stop.registrationId, value: JSONWriter.bytes(stop.json))
            while !control.isStopping {
                do {
                    try sender.sendAndWait([outgoing], timeout: .seconds(30))
                    metrics.sessionEnded(reason: "invalid_token")
                    logger.info("push token invalid; mail registration stopped", metadata: ["registrationId": "\(stop.registrationId)"])
                    break
                } catch {
                    logger.warning("could not write the stop of an invalid token; retrying", metadata: ["error": "\(error)"])
                    backoff.wait(control)
                }
            }
            guard !control.isStopping else { return }
        }
        try? consumer.storeOffset(message)
    }

    /// The stop an outcome calls for: only invalid tokens of the pinger's own pushes.
    static func stop(for value: [UInt8]) -> MailRegistrationMessage? {
        guard let outcome = try? JSONParser.parse(value), outcome["rule"]?.stringValue == MailPushWriter.rule,
              outcome["status"]?.stringValue == "invalid_token", let id = outcome["sourceMessageId"]?.stringValue, !id.isEmpty,
              let app = outcome["app"]?.stringValue
        else { return nil }
        return .stop(registrationId: id, app: app, receivedAt: Timestamp.iso8601(Date()))
    }
}
