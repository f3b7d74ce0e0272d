import Logging
import Synchronization

/// The taps, one per configured topic, started when first watched.
final class TopicTaps: Sendable {
    let topics: [String]
    private let brokers: String
    private let logger: Logger
    private let taps = Mutex<[String: TopicTap]>([:])

    init(topics: [String], brokers: String, logger: Logger) {
        self.topics = topics
        self.brokers = brokers
        self.logger = logger
    }

    /// nil for a topic the configuration does not offer.
    func tap(_ topic: String) -> TopicTap? {
        guard topics.contains(topic) else { return nil }
        return taps.withLock { taps in
            if let tap = taps[topic] { return tap }
            let tap = TopicTap(topic: topic, brokers: brokers, logger: logger)
            tap.start()
            taps[topic] = tap
            return tap
        }
    }

    func stopAll() {
        taps.withLock { taps in for tap in taps.values { tap.stop() } }
    }
}
