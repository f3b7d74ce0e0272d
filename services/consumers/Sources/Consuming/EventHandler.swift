import BeaconCore
import BeaconKafka

/// One consumer's work on an event from `beacon.events`. Throwing means the
/// action failed: the loop retries with backoff, then writes the event with
/// the error to `beacon.events.failed`.
protocol EventHandler: Sendable {
    /// Short name: the consumer group suffix, `--only` value and metric label.
    var name: String { get }
    func handle(_ event: JSONValue, message: KafkaMessage) throws
}
