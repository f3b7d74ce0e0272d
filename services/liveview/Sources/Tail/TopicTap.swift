import Atomics
import BeaconKafka
import Foundation
import Logging
import Synchronization

/// Tails one topic from now on its own thread (librdkafka's poll blocks) and
/// hands each message to every session watching it. Sessions never slow the
/// tap: each has its own bounded queue.
final class TopicTap: @unchecked Sendable {
    let topic: String
    private let brokers: String
    private let logger: Logger
    private let sessions = Mutex<[ObjectIdentifier: LiveSession]>([:])
    private let stopping = ManagedAtomic(false)
    private let received = ManagedAtomic<Int>(0)
    private let rate = Mutex<(count: Int, at: ContinuousClock.Instant, perSecond: Double)>((0, .now, 0))
    private var thread: Thread?

    init(topic: String, brokers: String, logger: Logger) {
        self.topic = topic
        self.brokers = brokers
        self.logger = logger
    }

    func start() {
        let thread = Thread { [self] in self.loop() }
        thread.name = "beacon-tap-\(topic)"
        self.thread = thread
        thread.start()
    }

    func stop() { stopping.store(true, ordering: .relaxed) }

    func add(_ session: LiveSession) { sessions.withLock { $0[ObjectIdentifier(session)] = session } }
    func remove(_ session: LiveSession) { _ = sessions.withLock { $0.removeValue(forKey: ObjectIdentifier(session)) } }

    /// Messages per second on the topic, over the last second or so.
    var messagesPerSecond: Double {
        let total = received.load(ordering: .relaxed)
        return rate.withLock { state in
            let now = ContinuousClock.now
            let elapsed = now - state.at
            if elapsed >= .milliseconds(900) {
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                state.perSecond = Double(total - state.count) / seconds
                state = (total, now, state.perSecond)
            }
            return state.perSecond
        }
    }

    private func loop() {
        var consumer: KafkaConsumer?
        while !stopping.load(ordering: .relaxed) {
            do {
                if consumer == nil {
                    let fresh = try KafkaConsumer(brokers: brokers, groupId: nil)
                    try fresh.assignAllPartitions(of: topic, from: .end)
                    consumer = fresh
                    logger.info("tailing topic", metadata: ["topic": "\(topic)"])
                }
                guard let message = try consumer?.poll(timeoutMs: 200) else { continue }
                received.wrappingIncrement(ordering: .relaxed)
                let current = sessions.withLock { Array($0.values) }
                guard !current.isEmpty else { continue }
                let tailed = TailedMessage(message)
                for session in current { session.offer(tailed) }
            } catch {
                logger.warning("tailing failed; retrying", metadata: ["topic": "\(topic)", "error": "\(error)"])
                consumer = nil
                Thread.sleep(forTimeInterval: 1)
            }
        }
        consumer?.close()
    }
}
