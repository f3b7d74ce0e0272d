import BeaconCore
import BeaconKafka
import Synchronization

/// Produces push requests to `beacon.push.apns` / `beacon.push.fcm`, keyed by
/// token, and returns once Kafka confirmed every one (the event's offset
/// moves on only then).
final class PushRequestWriter {
    struct Failed: Error, CustomStringConvertible { let description: String }

    private var producer: KafkaProducer
    private let inbox = ReportInbox()

    init(brokers: String) throws(KafkaError) {
        let inbox = self.inbox
        producer = try KafkaProducer(config: KafkaProducerConfig(brokers: brokers, clientId: "beacon-consumers-rules")) { report in
            inbox.reports.withLock { $0.append(report) }
        }
    }

    func write(_ requests: [(topic: String, request: PushRequest)]) throws {
        guard !requests.isEmpty else { return }
        inbox.reports.withLock { $0.removeAll() }
        for (index, item) in requests.enumerated() {
            try producer.produce(topic: item.topic, key: Array(item.request.token.utf8), value: JSONWriter.bytes(item.request.json), token: UInt64(index + 1))
        }
        var confirmed = 0
        while confirmed < requests.count {
            _ = producer.poll(timeoutMs: 100)
            let reports = inbox.reports.withLock { reports in
                defer { reports.removeAll() }
                return reports
            }
            if let failure = reports.first(where: { $0.error != nil })?.error {
                if producer.fatalError != nil { producer = try producer.makeReplacement() }
                throw Failed(description: "push request not accepted by Kafka: \(failure)")
            }
            confirmed += reports.count
        }
    }
}

final class ReportInbox: Sendable {
    let reports = Mutex<[DeliveryReport]>([])
}
