import BeaconCore
import BeaconKafka
import Foundation
import Synchronization

/// Re-enqueues parked work: webhook requests from `beacon.webhooks.failed`
/// back to `beacon.webhooks` (the worker tries them afresh, with the same
/// `webhook-id`), or events from `beacon.events.failed` back to
/// `beacon.events` (with their original key, so in their partition's order;
/// every consumer group sees them again, and the registry and counters are
/// idempotent by messageId). Reads the failed topic from its start until it
/// has been quiet for `idle`, taking only records written before the replay
/// began: what fails again meanwhile is not taken round again. (By their
/// Kafka timestamps, not the partitions' end offsets, which the local Tansu
/// broker reports per batch.) A dry run only counts.
struct FailedReplay: Sendable {
    enum Source: String, Sendable, CaseIterable {
        case webhooks, events
    }

    struct Outcome: Sendable, Equatable {
        var scanned = 0
        var matched = 0
        var replayed = 0
        var unreadable = 0

        var json: JSONValue {
            ["scanned": .integer(Int64(scanned)), "matched": .integer(Int64(matched)), "replayed": .integer(Int64(replayed)),
             "unreadable": .integer(Int64(unreadable))]
        }
    }

    let brokers: String
    let source: Source
    let failedTopic: String
    let targetTopic: String
    var idle: Duration = .seconds(2)
    var timeout: Duration = .seconds(300)

    init(settings: ConsumersSettings, source: Source) {
        brokers = settings.kafka.brokers
        self.source = source
        switch source {
        case .webhooks:
            failedTopic = settings.webhooks.failedTopic
            targetTopic = settings.webhooks.topic
        case .events:
            failedTopic = settings.failedTopic
            targetTopic = settings.topic
        }
    }

    func run(_ filter: ReplayFilter, dryRun: Bool) throws -> Outcome {
        let consumer = try KafkaConsumer(brokers: brokers, groupId: nil)
        defer { consumer.close() }
        try consumer.assignAllPartitions(of: failedTopic, from: .beginning)
        let startedMs = Int64(Date().timeIntervalSince1970 * 1000)
        let failures = DeliveryFailures()
        let producer = dryRun ? nil : try KafkaProducer(config: KafkaProducerConfig(brokers: brokers, clientId: "beacon-replay")) { report in
            if report.error != nil { failures.count.add(1, ordering: .relaxed) }
        }
        var outcome = Outcome()
        let deadline = ContinuousClock.now + timeout
        var quietSince = ContinuousClock.now
        while ContinuousClock.now - quietSince < idle, ContinuousClock.now < deadline {
            guard let message = try? consumer.poll(timeoutMs: 200) else { continue }
            quietSince = ContinuousClock.now
            guard (message.timestampMs ?? 0) <= startedMs else { continue }
            outcome.scanned += 1
            guard let record = try? JSONParser.parse(message.value), let (key, value, matches) = select(record, key: message.key, filter) else {
                outcome.unreadable += 1
                continue
            }
            guard matches else { continue }
            outcome.matched += 1
            if let producer {
                try producer.produce(topic: targetTopic, key: key, value: value, token: UInt64(outcome.matched))
                outcome.replayed += 1
            }
        }
        try producer?.flush(timeoutMs: 30_000)
        let failed = failures.count.load(ordering: .relaxed)
        if failed > 0 { throw ServiceError.transient("\(failed) of \(outcome.replayed) replayed records were not confirmed by Kafka") }
        return outcome
    }

    /// What to produce for a parked record, and whether the filter takes it.
    private func select(_ record: JSONValue, key: [UInt8]?, _ filter: ReplayFilter) -> (key: [UInt8]?, value: [UInt8], matches: Bool)? {
        let failedAt = record["failedAt"]?.stringValue.flatMap(Timestamp.parse)
        switch source {
        case .webhooks:
            guard let requestJSON = record["request"], let request = try? WebhookRequest(json: requestJSON) else { return nil }
            let rule: String? = if case .rule(let name, _) = request.source { name } else { nil }
            let host = WebhookDelivery.target(of: request.url)?.host.lowercased()
            let matches = filter.matches(app: request.app, rule: rule, host: host, consumer: nil, failedAt: failedAt)
            return (Array(request.id.utf8), JSONWriter.bytes(request.json), matches)
        case .events:
            guard let event = record["event"], event.objectValue != nil else { return nil }
            let matches = filter.matches(
                app: event["app"]?.stringValue, rule: nil, host: nil, consumer: record["consumer"]?.stringValue, failedAt: failedAt)
            return (key, JSONWriter.bytes(event), matches)
        }
    }
}

private final class DeliveryFailures: Sendable {
    let count = Atomic<Int>(0)
}
