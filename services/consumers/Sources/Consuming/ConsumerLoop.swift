import BeaconCore
import BeaconKafka
import Foundation
import Logging
import Metrics

/// Runs one handler as its own Kafka consumer group over `beacon.events`, on
/// its own thread. A message's offset is stored only after its action is
/// done (or, after the retries, parked in `beacon.events.failed`), and stored
/// offsets are committed in the background and on close: at least once.
final class ConsumerLoop: @unchecked Sendable {
    struct Settings: Sendable {
        var brokers: String
        var topic: String
        var failedTopic: String
        var groupPrefix: String
        var maxAttempts: Int
        var initialBackoff: Duration
        var consumerProperties: [String: String]
    }

    let handler: any EventHandler
    private let settings: Settings
    private let logger: Logger
    private let readiness: Readiness
    private let handled: Counter
    private let failed: Counter
    private let retried: Counter

    init(handler: any EventHandler, settings: Settings, readiness: Readiness, logger: Logger) {
        self.handler = handler
        self.settings = settings
        self.readiness = readiness
        var logger = logger
        logger[metadataKey: "consumer"] = "\(handler.name)"
        self.logger = logger
        handled = Counter(label: "beacon_consumers_events_handled_total", dimensions: [("consumer", handler.name)])
        failed = Counter(label: "beacon_consumers_events_failed_total", dimensions: [("consumer", handler.name)])
        retried = Counter(label: "beacon_consumers_action_retries_total", dimensions: [("consumer", handler.name)])
        readiness.register("kafka \(handler.name)", reason: "not subscribed yet")
    }

    func run(shouldStop: @escaping @Sendable () -> Bool) {
        var consumer: KafkaConsumer?
        var failedProducer: FailedEventWriter?
        var pollFailing = false  // readiness is touched on a change, not per message
        while !shouldStop() {
            do {
                if failedProducer == nil {
                    failedProducer = try FailedEventWriter(brokers: settings.brokers, topic: settings.failedTopic, consumer: handler.name)
                }
                if consumer == nil {
                    let fresh = try KafkaConsumer(
                        brokers: settings.brokers, groupId: "\(settings.groupPrefix)\(handler.name)", extra: settings.consumerProperties)
                    try fresh.subscribe([settings.topic])
                    consumer = fresh
                    readiness.markReady("kafka \(handler.name)")
                    logger.info("consuming", metadata: ["topic": "\(settings.topic)", "group": "\(fresh.groupId)"])
                }
                guard let current = consumer, let writer = failedProducer else { continue }
                let message: KafkaMessage
                do {
                    guard let polled = try current.poll(timeoutMs: 200) else { continue }
                    message = polled
                } catch {
                    // librdkafka reconnects and rejoins the group by itself; only
                    // a fatal error needs a new consumer. Recreating one after a
                    // broker outage also made Tansu wedge the group for good.
                    readiness.markNotReady("kafka \(handler.name)", reason: "\(error)")
                    pollFailing = true
                    if let fatal = current.fatalError {
                        logger.warning("kafka consumer failed fatally; recreating it", metadata: ["error": "\(fatal)"])
                        current.close()
                        consumer = nil
                    } else {
                        logger.warning("kafka poll failed; retrying", metadata: ["error": "\(error)"])
                    }
                    Thread.sleep(forTimeInterval: 1)
                    continue
                }
                if pollFailing {
                    pollFailing = false
                    readiness.markReady("kafka \(handler.name)")
                }
                process(message, failedWriter: writer, shouldStop: shouldStop)
                do {
                    try current.storeOffset(message)
                } catch {
                    // The partition was taken away (a rebalance, a session lost
                    // during an outage): its new owner reads from the last
                    // commit, so the event is handled again, never skipped.
                    logger.warning("offset not stored; the partition's next owner handles the event again",
                                   metadata: ["error": "\(error)", "partition": "\(message.partition)", "offset": "\(message.offset)"])
                }
            } catch {
                readiness.markNotReady("kafka \(handler.name)", reason: "\(error)")
                logger.warning("kafka consumer could not start; retrying", metadata: ["error": "\(error)"])
                consumer?.close()
                consumer = nil
                Thread.sleep(forTimeInterval: 1)
            }
        }
        consumer?.close()
        failedProducer?.close()
    }

    private func process(_ message: KafkaMessage, failedWriter: FailedEventWriter, shouldStop: () -> Bool) {
        guard let event = try? JSONParser.parse(message.value), event.objectValue != nil else {
            failedWriter.park(message, error: "not a JSON object")
            failed.increment()
            return
        }
        var backoff = settings.initialBackoff
        for attempt in 1...max(1, settings.maxAttempts) {
            do {
                try handler.handle(event, message: message)
                handled.increment()
                return
            } catch {
                if attempt == settings.maxAttempts || shouldStop() {
                    logger.error("action failed; parked in \(settings.failedTopic)", metadata: [
                        "error": "\(error)", "attempts": "\(attempt)", "messageId": "\(event["messageId"]?.stringValue ?? "")",
                    ])
                    failedWriter.park(message, error: "\(error)", attempts: attempt)
                    failed.increment()
                    return
                }
                retried.increment()
                let (seconds, attoseconds) = backoff.components
                let jitter = Double.random(in: 0.5...1.0)
                Thread.sleep(forTimeInterval: (Double(seconds) + Double(attoseconds) / 1e18) * jitter)
                backoff = min(backoff * 2, .seconds(30))
            }
        }
    }
}
