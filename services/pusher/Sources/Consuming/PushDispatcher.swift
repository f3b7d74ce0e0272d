import BeaconCore
import BeaconKafka
import Dispatch
import Logging
import ServiceLifecycle
import Synchronization

/// Takes push requests from the consumer loop (its thread) to concurrent
/// sends (async tasks), within two bounds: sends in progress, and pushes
/// whose outcome is not yet confirmed on the feedback topic. A message's
/// offset is stored only once its outcome is recorded, and only once every
/// earlier message of its partition's is too. On SIGTERM it stops taking
/// requests and lets what is in flight finish, bounded by the drain time.
final class PushDispatcher: Service, KafkaMessageHandler {
    struct Settings: Sendable {
        var loop: KafkaConsumerLoop.Settings
        /// Pushes being sent at once.
        var concurrency: Int
        /// Pushes sent whose outcome is not yet confirmed on the feedback
        /// topic. Separate from `concurrency`: a confirmation takes a Kafka
        /// round trip, and holding a send slot for it would cap throughput at
        /// concurrency / that round trip.
        var maxUnconfirmed: Int
        var drainTimeout: Duration
    }

    private let settings: Settings
    private let delivery: PushDelivery
    private let readiness: ReadinessCondition
    private var metrics: PusherMetrics { delivery.metrics }
    private var logger: Logger { delivery.logger }
    private let offsets = Mutex(OffsetTracker())
    private let sending: DispatchSemaphore
    private let unconfirmed: DispatchSemaphore
    private let requests: AsyncStream<(KafkaMessage, KafkaConsumer)>
    private let requestsContinuation: AsyncStream<(KafkaMessage, KafkaConsumer)>.Continuation
    /// Set when the loop stops taking requests; the last send to finish then signals `drained`.
    private let draining = Atomic<Bool>(false)
    private let drained = DispatchSemaphore(value: 0)

    init(settings: Settings, delivery: PushDelivery, readiness: ReadinessCondition) {
        self.settings = settings
        self.delivery = delivery
        self.readiness = readiness
        sending = Self.permits(settings.concurrency)
        unconfirmed = Self.permits(max(settings.maxUnconfirmed, settings.concurrency))
        (requests, requestsContinuation) = AsyncStream.makeStream()
    }

    func run() async throws {
        let loop = LoopThread(
            KafkaConsumerLoop(name: "push-requests", settings: settings.loop, handler: self, readiness: readiness, logger: logger),
            drainTimeout: settings.drainTimeout, logger: logger)
        let sends = Task {
            await withDiscardingTaskGroup { group in
                for await (message, consumer) in requests {
                    group.addTask { [self] in await process(message, from: consumer) }
                }
            }
        }
        try? await gracefulShutdown()
        logger.info("draining push requests in flight", metadata: ["inFlight": "\(inFlight)"])
        await loop.stop()
        // What did not finish in time is not committed: the next pusher sends it.
        sends.cancel()
        await sends.value
    }

    private var inFlight: Int { offsets.withLock { $0.count } }

    /// A semaphore holding `count` permits. Made at zero and signalled up:
    /// libdispatch traps when a semaphore is freed below its initial value,
    /// as one whose permits are out at shutdown would be.
    private static func permits(_ count: Int) -> DispatchSemaphore {
        let semaphore = DispatchSemaphore(value: 0)
        for _ in 0..<count { semaphore.signal() }
        return semaphore
    }

    // MARK: On the consumer loop's thread

    func handle(_ message: KafkaMessage, from consumer: KafkaConsumer, control: LoopControl) {
        guard control.wait(for: unconfirmed) else { return }
        guard control.wait(for: sending) else {
            unconfirmed.signal()
            return
        }
        offsets.withLock { $0.started(topic: message.topic, partition: message.partition, offset: message.offset) }
        requestsContinuation.yield((message, consumer))
    }

    func finish(_ consumer: KafkaConsumer, control: LoopControl) -> LoopOutcome {
        draining.store(true, ordering: .sequentiallyConsistent)
        requestsContinuation.finish()
        while inFlight > 0 {
            guard drained.wait(timeout: .now() + control.drainTimeLeft.dispatchInterval) == .success else { break }
        }
        let left = inFlight
        return left == 0 ? .finished : .leftUndone("\(left) push request(s) unfinished; not committed, so the next pusher sends them")
    }

    // MARK: The sends

    /// Delivers one push request, then stores the offset when it may move.
    private func process(_ message: KafkaMessage, from consumer: KafkaConsumer) async {
        defer { unconfirmed.signal() }
        metrics.inFlight.record(inFlight)
        // Cancelled by the drain timeout: leave the offset; it is delivered again.
        guard await delivery.deliver(message, sent: { sending.signal() }) else { return }
        let (committable, stillInFlight) = offsets.withLock { tracker in
            (tracker.finished(topic: message.topic, partition: message.partition, offset: message.offset), tracker.count)
        }
        metrics.inFlight.record(stillInFlight)
        if stillInFlight == 0, draining.load(ordering: .sequentiallyConsistent) { drained.signal() }
        guard let committable else { return }
        let marker = KafkaMessage(topic: message.topic, partition: message.partition, offset: committable, key: nil, value: [], timestampMs: nil)
        do {
            try consumer.storeOffset(marker)
        } catch {
            logger.warning("could not store offset", metadata: ["error": "\(error)"])
        }
    }
}
