import BeaconKafka
import Foundation

/// Reads a topic from its beginning and keeps the JSON messages a test
/// cares about (topics are shared, so tests mark their events with a run id).
public final class KafkaCollector: @unchecked Sendable {
    public private(set) var messages: [(message: KafkaMessage, json: [String: Any])] = []
    private let consumer: KafkaConsumer
    private let keep: ([String: Any]) -> Bool

    public init(topic: String, keep: @escaping ([String: Any]) -> Bool) throws {
        consumer = try KafkaConsumer(brokers: try TestEnvironment.kafkaBrokers(), groupId: nil)
        try consumer.assignAllPartitions(of: topic, from: .beginning)
        self.keep = keep
    }

    /// Reads until `done` holds for what was kept, or fails after `timeout`.
    public func collect(until what: String, timeout: Duration = .seconds(60), _ done: ([(message: KafkaMessage, json: [String: Any])]) -> Bool) throws {
        let deadline = ContinuousClock.now + timeout
        while !done(messages) {
            guard ContinuousClock.now < deadline else { throw Await.TimedOut(what: "\(what) (kept \(messages.count) messages)") }
            if let message = try consumer.poll(timeoutMs: 100),
               let json = (try? JSONSerialization.jsonObject(with: Data(message.value))) as? [String: Any], keep(json) {
                messages.append((message, json))
            }
        }
    }

    deinit { consumer.close() }
}
