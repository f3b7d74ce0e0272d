import Atomics
import BeaconCore
import BeaconKafka
import Foundation
import Synchronization

/// Writes outcomes to `beacon.push.feedback` and lets the caller await
/// Kafka's confirmation: a push's offset is committed only after its
/// outcome is recorded. A thread of its own serves librdkafka's callbacks.
final class FeedbackWriter: @unchecked Sendable {
    struct Failed: Error, CustomStringConvertible { let description: String }

    private let producer: KafkaProducer
    private let topic: String
    private let waiting = Waiters()
    private let nextToken = ManagedAtomic<UInt64>(1)
    private let stopping = ManagedAtomic(false)
    private let finished = DispatchSemaphore(value: 0)

    init(brokers: String, topic: String) throws(KafkaError) {
        self.topic = topic
        let waiting = self.waiting
        producer = try KafkaProducer(config: KafkaProducerConfig(brokers: brokers, clientId: "beacon-pusher-feedback")) { report in
            guard let continuation = waiting.take(report.token) else { return }
            if let error = report.error {
                continuation.resume(throwing: Failed(description: "feedback not accepted by Kafka: \(error)"))
            } else {
                continuation.resume()
            }
        }
        let thread = Thread { [self] in
            while !stopping.load(ordering: .relaxed) || producer.outstanding > 0 { _ = producer.poll(timeoutMs: 50) }
            finished.signal()
        }
        thread.name = "beacon-feedback"
        thread.start()
    }

    func write(_ record: JSONValue, key: String) async throws {
        let token = nextToken.loadThenWrappingIncrement(ordering: .relaxed)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            waiting.add(token, continuation)
            do {
                try producer.produce(topic: topic, key: Array(key.utf8), value: JSONWriter.bytes(record), token: token)
            } catch {
                if let continuation = waiting.take(token) {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Waits (bounded) for what is queued, then stops the poll thread.
    func close(timeoutMs: Int32) {
        try? producer.flush(timeoutMs: timeoutMs)
        stopping.store(true, ordering: .relaxed)
        finished.wait()
    }
}

/// Continuations waiting for Kafka's confirmation, by delivery token.
final class Waiters: Sendable {
    private let map = Mutex<[UInt64: CheckedContinuation<Void, any Error>]>([:])

    func add(_ token: UInt64, _ continuation: CheckedContinuation<Void, any Error>) {
        map.withLock { $0[token] = continuation }
    }

    func take(_ token: UInt64) -> CheckedContinuation<Void, any Error>? {
        map.withLock { $0.removeValue(forKey: token) }
    }
}
