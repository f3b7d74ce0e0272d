import BeaconKafka
import Foundation
import Synchronization

/// Tails a topic from its end on a thread of its own and notes when each of
/// the run's events first arrives. Polling blocks, so it stays off the
/// cooperative pool.
final class KafkaWatcher: @unchecked Sendable {
    let arrivals: ArrivalTable
    private let consumer: KafkaConsumer
    private let ids: BenchMessageId
    private let stopped = Atomic<Bool>(false)
    private let seenCount = Atomic<Int>(0)
    private let finished = DispatchSemaphore(value: 0)

    init(brokers: String, topic: String, ids: BenchMessageId, capacity: Int) throws {
        self.ids = ids
        arrivals = ArrivalTable(count: capacity)
        // Fetch answers as soon as one message is there: we measure latency.
        consumer = try KafkaConsumer(brokers: brokers, groupId: nil, extra: ["fetch.wait.max.ms": "5", "fetch.min.bytes": "1"])
        try consumer.assignAllPartitions(of: topic, from: .end)
    }

    /// Distinct events of this run seen so far.
    var seen: Int { seenCount.load(ordering: .relaxed) }

    func start() {
        Thread.detachNewThread { [self] in
            while !stopped.load(ordering: .relaxed) {
                guard let message = try? consumer.poll(timeoutMs: 50) else { continue }
                let now = monotonicNanos()
                if let sequence = ids.sequence(in: message.value), arrivals.markFirst(sequence, at: now) {
                    seenCount.add(1, ordering: .relaxed)
                }
            }
            consumer.close()
            finished.signal()
        }
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        finished.wait()
    }
}
