import BeaconCore
import BeaconKafka
import Foundation
import Synchronization

/// Writes an event whose action kept failing to `beacon.events.failed`, with
/// the error, and waits for Kafka to confirm before the offset moves on.
final class FailedEventWriter {
    private let producer: KafkaProducer
    private let topic: String
    private let consumer: String
    private let outcome = DeliveryOutcome()

    init(brokers: String, topic: String, consumer: String) throws(KafkaError) {
        self.topic = topic
        self.consumer = consumer
        let outcome = self.outcome
        producer = try KafkaProducer(config: KafkaProducerConfig(brokers: brokers, clientId: "beacon-consumers-\(consumer)")) { report in
            outcome.record(report)
        }
    }

    func park(_ message: KafkaMessage, error: String, attempts: Int = 1) {
        let original = (try? JSONParser.parse(message.value)) ?? .string(String(decoding: message.value, as: UTF8.self))
        let record: JSONValue = [
            "consumer": .string(consumer), "error": .string(error), "attempts": .integer(Int64(attempts)),
            "failedAt": .string(Timestamp.iso8601(Date())), "source": [
                "topic": .string(message.topic), "partition": .integer(Int64(message.partition)), "offset": .integer(message.offset),
            ],
            "event": original,
        ]
        // Keep trying: moving on without this record would lose the event.
        while true {
            outcome.reset()
            do {
                try producer.produce(topic: topic, key: message.key, value: JSONWriter.bytes(record), token: 1)
            } catch {
                Thread.sleep(forTimeInterval: 1)
                continue
            }
            while outcome.value == nil { _ = producer.poll(timeoutMs: 100) }
            if outcome.value == true { return }
        }
    }

    func close() { try? producer.flush(timeoutMs: 5_000) }
}

final class DeliveryOutcome: Sendable {
    private let state = Mutex<Bool?>(nil)
    func record(_ report: DeliveryReport) { state.withLock { $0 = report.error == nil } }
    func reset() { state.withLock { $0 = nil } }
    var value: Bool? { state.withLock { $0 } }
}
