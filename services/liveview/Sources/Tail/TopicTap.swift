import BeaconCore
import BeaconKafka
import Synchronization

/// Tails one topic from now (its consumer loop runs on a thread of its own)
/// and hands each message to every session watching it. Sessions never slow
/// the tap: each has its own bounded queue.
final class TopicTap: KafkaMessageHandler {
    let topic: String
    private let sessions = Mutex<[ObjectIdentifier: LiveSession]>([:])
    private let received = Atomic<Int>(0)
    private let rate = Mutex<(count: Int, at: ContinuousClock.Instant, perSecond: Double)>((0, .now, 0))

    init(topic: String) {
        self.topic = topic
    }

    func add(_ session: LiveSession) { sessions.withLock { $0[ObjectIdentifier(session)] = session } }
    func remove(_ session: LiveSession) { _ = sessions.withLock { $0.removeValue(forKey: ObjectIdentifier(session)) } }

    /// Messages per second on the topic, over the last second or so.
    var messagesPerSecond: Double {
        let total = received.load(ordering: .relaxed)
        return rate.withLock { state in
            let now = ContinuousClock.now
            let elapsed = now - state.at
            if elapsed >= .milliseconds(900) {
                state.perSecond = Double(total - state.count) / elapsed.inSeconds
                state = (total, now, state.perSecond)
            }
            return state.perSecond
        }
    }

    func handle(_ message: KafkaMessage, from consumer: KafkaConsumer, control: LoopControl) {
        received.add(1, ordering: .relaxed)
        let current = sessions.withLock { Array($0.values) }
        guard !current.isEmpty else { return }
        let tailed = TailedMessage(message)
        for session in current { session.offer(tailed) }
    }
}
