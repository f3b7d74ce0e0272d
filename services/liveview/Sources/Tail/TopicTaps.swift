import BeaconCore
import BeaconKafka
import Logging
import ServiceLifecycle
import Synchronization

/// The taps, one per configured topic, each started when first watched and
/// stopped on graceful shutdown (a service of the live view).
final class TopicTaps: Service {
    let topics: [String]
    private let kafka: KafkaConsumerSettings
    private let drainTimeout: Duration
    private let logger: Logger
    private let running = Mutex<[String: (tap: TopicTap, thread: LoopThread)]>([:])

    init(topics: [String], kafka: KafkaConsumerSettings, drainTimeout: Duration, logger: Logger) {
        self.topics = topics
        self.kafka = kafka
        self.drainTimeout = drainTimeout
        self.logger = logger
    }

    /// nil for a topic the configuration does not offer.
    func tap(_ topic: String) -> TopicTap? {
        guard topics.contains(topic) else { return nil }
        return running.withLock { running in
            if let tap = running[topic]?.tap { return tap }
            let tap = TopicTap(topic: topic)
            // The service's readiness is Kafka's reachability; a tap's own
            // trouble shows in its log and in the browser's stats.
            let loop = KafkaConsumerLoop(name: "tail-\(topic)", settings: kafka.loop(.tail(topic)), handler: tap, readiness: nil, logger: logger)
            running[topic] = (tap, LoopThread(loop, drainTimeout: drainTimeout, logger: logger))
            return tap
        }
    }

    func run() async throws {
        try? await gracefulShutdown()
        let threads = running.withLock { running in running.values.map(\.thread) }
        for thread in threads { thread.requestStop() }
        for thread in threads { await thread.stop() }
    }
}
