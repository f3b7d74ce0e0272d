import BeaconCore
import BeaconKafka

/// Produces push requests to `beacon.push.apns` / `beacon.push.fcm`, keyed by
/// token, and returns once Kafka confirmed every one (the event's offset
/// moves on only then).
final class PushRequestWriter {
    struct Failed: Error, CustomStringConvertible { let description: String }

    private var producer: KafkaProducer
    private let inbox = DeliveryReportInbox()

    init(brokers: String) throws(KafkaError) {
        let inbox = self.inbox
        producer = try KafkaProducer(config: KafkaProducerConfig(brokers: brokers, clientId: "beacon-consumers-rules"), onDelivery: inbox.add)
    }

    func write(_ requests: [(topic: String, request: PushRequest)]) throws {
        guard !requests.isEmpty else { return }
        _ = inbox.takeAll()
        for (index, item) in requests.enumerated() {
            try producer.produce(topic: item.topic, key: Array(item.request.token.utf8), value: JSONWriter.bytes(item.request.json), token: UInt64(index + 1))
        }
        var confirmed = 0
        while confirmed < requests.count {
            _ = producer.poll(timeoutMs: 100)
            let reports = inbox.takeAll()
            if let failure = reports.first(where: { $0.error != nil })?.error {
                if producer.fatalError != nil { producer = try producer.makeReplacement() }
                throw Failed(description: "push request not accepted by Kafka: \(failure)")
            }
            confirmed += reports.count
        }
    }
}
