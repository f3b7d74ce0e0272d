import BeaconCore
import BeaconKafka

/// One consumer's work on an event from `beacon.events`, called on its
/// consumer loop's thread. Throwing means the action failed: a permanent
/// error (see `ClassifiedError`) parks the event in `beacon.events.failed`
/// at once, a transient one is retried with backoff first.
protocol EventHandler: Sendable {
    /// Short name: the consumer group suffix, `--only` value and metric label.
    var name: String { get }
    func handle(_ event: JSONValue, message: KafkaMessage) throws
}
