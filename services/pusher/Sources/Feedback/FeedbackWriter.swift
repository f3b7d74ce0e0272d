import BeaconCore
import BeaconKafka

/// Writes outcomes to `beacon.push.feedback` and returns once Kafka
/// confirmed them: a push's offset is committed only after its outcome is
/// recorded.
struct FeedbackWriter: Sendable {
    let sender: KafkaSender
    let topic: String

    func write(_ record: JSONValue, key: String) async throws(KafkaError) {
        try await sender.send(OutgoingMessage(topic: topic, key: key, value: JSONWriter.bytes(record)))
    }
}
