import BeaconCore
import BeaconKafka
import Foundation

/// Parks an event whose action failed for good in `beacon.events.failed`,
/// with the error, and returns once Kafka confirmed it: only then may the
/// event's offset move on.
struct FailedEventWriter: Sendable {
    let sender: KafkaSender
    let topic: String

    /// Keeps trying until Kafka took the record; false when the loop was told
    /// to stop first (the offset then stays, and the event is handled again).
    func park(_ message: KafkaMessage, consumer: String, error: String, attempts: Int, control: LoopControl) -> Bool {
        let record = OutgoingMessage(topic: topic, key: message.key, value: JSONWriter.bytes(Self.record(
            message, consumer: consumer, error: error, attempts: attempts)))
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
        while !control.isStopping {
            do {
                try sender.sendAndWait([record], timeout: .seconds(30))
                return true
            } catch {
                backoff.wait(control)
            }
        }
        return false
    }

    static func record(_ message: KafkaMessage, consumer: String, error: String, attempts: Int) -> JSONValue {
        let original = (try? JSONParser.parse(message.value)) ?? .string(String(decoding: message.value, as: UTF8.self))
        return [
            "consumer": .string(consumer), "error": .string(error), "attempts": .integer(Int64(attempts)),
            "failedAt": .string(Timestamp.iso8601(Date())), "source": [
                "topic": .string(message.topic), "partition": .integer(Int64(message.partition)), "offset": .integer(message.offset),
            ],
            "event": original,
        ]
    }
}
