import BeaconCore
import BeaconKafka
import Logging
import Metrics

/// Runs one `EventHandler` on the messages of its consumer loop: each event
/// is handled (retried or parked as `ActionRetryPolicy` decides), and only
/// then is its offset stored; stored offsets are committed in the background
/// and on close. At least once: an event in hand at shutdown is left
/// unstored and handled again by the partition's next owner.
struct EventConsumer: KafkaMessageHandler {
    let handler: any EventHandler
    let policy: ActionRetryPolicy
    let failed: FailedEventWriter
    private let logger: Logger
    private let handledCount: Counter
    private let failedCount: Counter
    private let retriedCount: Counter

    init(handler: any EventHandler, policy: ActionRetryPolicy, failed: FailedEventWriter, logger: Logger) {
        self.handler = handler
        self.policy = policy
        self.failed = failed
        self.logger = logger.with("consumer", "\(handler.name)")
        handledCount = Counter(label: "beacon_consumers_events_handled_total", dimensions: [("consumer", handler.name)])
        failedCount = Counter(label: "beacon_consumers_events_failed_total", dimensions: [("consumer", handler.name)])
        retriedCount = Counter(label: "beacon_consumers_action_retries_total", dimensions: [("consumer", handler.name)])
    }

    func handle(_ message: KafkaMessage, from consumer: KafkaConsumer, control: LoopControl) {
        guard process(message, control: control) else { return }
        do {
            try consumer.storeOffset(message)
        } catch {
            // The partition was taken away (a rebalance, a session lost
            // during an outage): its new owner reads from the last commit,
            // so the event is handled again, never skipped.
            logger.warning("offset not stored; the partition's next owner handles the event again",
                           metadata: ["error": "\(error)", "partition": "\(message.partition)", "offset": "\(message.offset)"])
        }
    }

    /// True when the event is done with (handled, or parked); false when the
    /// loop stopped first.
    private func process(_ message: KafkaMessage, control: LoopControl) -> Bool {
        guard let event = try? JSONParser.parse(message.value), event.objectValue != nil else {
            return park(message, error: "not a JSON object", attempts: 1, messageId: nil, control: control)
        }
        var attempt = 1
        while true {
            do {
                try handler.handle(event, message: message)
                handledCount.increment()
                return true
            } catch {
                switch policy.decide(after: attempt, failure: error.failureKind) {
                case .park:
                    return park(message, error: "\(error)", attempts: attempt, messageId: event["messageId"]?.stringValue, control: control)
                case .retry(let delay):
                    retriedCount.increment()
                    guard control.pause(delay) else { return false }
                    attempt += 1
                }
            }
        }
    }

    private func park(_ message: KafkaMessage, error: String, attempts: Int, messageId: String?, control: LoopControl) -> Bool {
        logger.error("action failed; parked in \(failed.topic)", metadata: [
            "error": "\(error)", "attempts": "\(attempts)", "messageId": "\(messageId ?? "")",
        ])
        guard failed.park(message, consumer: handler.name, error: error, attempts: attempts, control: control) else { return false }
        failedCount.increment()
        return true
    }
}
