import BeaconCore
import BeaconKafka

/// Produces enriched events to Kafka in compressed batches and remembers
/// each one until Kafka confirmed it, so the Redis entry is acknowledged only
/// then. A failed delivery is produced again; a fatal producer error (which
/// an idempotent producer cannot leave by itself) replaces the producer and
/// resends everything unconfirmed.
final class EventForwarder {
    struct Pending {
        let entryId: String
        let topic: String
        let key: [UInt8]?
        let value: [UInt8]
    }

    private var producer: KafkaProducer
    private var pending: [UInt64: Pending] = [:]
    /// Stream ids in `pending`: an entry read again (our pending list, a
    /// claim) while its first copy is still in flight is not sent twice.
    private var pendingEntries: Set<String> = []
    private var nextToken: UInt64 = 1
    private let inbox = DeliveryReportInbox()
    private let metrics: EnricherMetrics
    private let readiness: Readiness

    init(config: KafkaProducerConfig, metrics: EnricherMetrics, readiness: Readiness) throws(KafkaError) {
        self.metrics = metrics
        self.readiness = readiness
        readiness.markReady("kafka")
        let inbox = self.inbox
        producer = try KafkaProducer(config: config, onDelivery: inbox.add)
    }

    var inFlight: Int { pending.count }

    func send(entryId: String, topic: String, key: [UInt8]?, value: [UInt8]) throws(KafkaError) {
        guard !pendingEntries.contains(entryId) else { return }
        let token = nextToken
        nextToken += 1
        let item = Pending(entryId: entryId, topic: topic, key: key, value: value)
        try produce(item, token: token)
        pending[token] = item
        pendingEntries.insert(entryId)
    }

    private func produce(_ item: Pending, token: UInt64) throws(KafkaError) {
        while true {
            do {
                try producer.produce(topic: item.topic, key: item.key, value: item.value, token: token)
                return
            } catch where error.isQueueFull {
                // librdkafka's queue is full: serve deliveries until there is room.
                _ = producer.poll(timeoutMs: 10)
            }
        }
    }

    /// Serves delivery reports for up to `timeoutMs` and returns the stream
    /// ids Kafka confirmed. Throws the fatal error after replacing the producer.
    func collectDelivered(timeoutMs: Int32) throws(KafkaError) -> [String] {
        _ = producer.poll(timeoutMs: timeoutMs)
        let batch = inbox.takeAll()
        var delivered: [String] = []
        delivered.reserveCapacity(batch.count)
        var retry: [(UInt64, Pending)] = []
        for report in batch {
            guard let item = pending[report.token] else { continue }
            if report.error == nil {
                pending[report.token] = nil
                pendingEntries.remove(item.entryId)
                delivered.append(item.entryId)
            } else {
                metrics.deliveryErrors.increment()
                retry.append((report.token, item))
            }
        }
        if let fatal = producer.fatalError {
            try replaceProducer(after: fatal)
            return delivered
        }
        for (token, item) in retry {
            try produce(item, token: token)
        }
        // Kafka's health as the deliveries tell it: failures make the enricher
        // not ready (it holds events in Redis meanwhile), a clean batch ready again.
        if let failure = retry.first {
            metrics.kafkaUp.record(0)
            readiness.markNotReady("kafka", reason: "deliveries failing: \(batch.first { $0.error != nil }?.error?.description ?? "\(failure.1.topic)")")
        } else if !batch.isEmpty {
            metrics.kafkaUp.record(1)
            readiness.markReady("kafka")
        }
        return delivered
    }

    private func replaceProducer(after error: KafkaError) throws(KafkaError) {
        metrics.producerReplaced.increment()
        producer.purgeOutstanding()
        let replacement = try producer.makeReplacement()
        producer = replacement
        _ = inbox.takeAll()
        for (token, item) in pending.sorted(by: { $0.key < $1.key }) {
            try produce(item, token: token)
        }
        throw error
    }

    /// Waits for what is in flight, up to `timeoutMs`, on shutdown.
    func drain(timeoutMs: Int32) -> [String] {
        var delivered: [String] = []
        let deadline = ContinuousClock.now + .milliseconds(Int(timeoutMs))
        while !pending.isEmpty, ContinuousClock.now < deadline {
            delivered += (try? collectDelivered(timeoutMs: 50)) ?? []
        }
        return delivered
    }
}
