import BeaconCore
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one way Beacon produces to Kafka and learns whether Kafka took each
/// message. It owns a librdkafka producer and the loop thread that serves
/// its delivery reports, so callers never poll:
///
/// - `send` awaits the delivery reports of one message or a batch (async
///   code: the pusher's feedback), `sendAndWait` does the same blocking a
///   loop thread (the consumers' push requests and failed events);
/// - `enqueue` is the hot path (the enricher): it returns at once, and the
///   report, with the caller's token, arrives in `reports`.
///
/// A failed delivery is reported as failed; retrying is the caller's choice.
/// When the producer fails fatally (see `KafkaProducer.fatalError`), the
/// sender purges it, so that every outstanding message is reported as
/// failed, and carries on with a new producer of the same configuration.
///
/// As a `Service` it stops on graceful shutdown: it waits up to its drain
/// time for what is outstanding, then reports the rest as failed and says so
/// in the log. List it before its users, so it stops after them.
public final class KafkaSender: Service, Sendable {
    public let name: String
    public let reports: DeliveryInbox
    private let slot: ProducerSlot
    private let router: DeliveryRouter
    private let nextToken = Atomic<UInt64>(DeliveryRouter.awaitedTokens)
    private let thread: LoopThread

    /// - Parameters:
    ///   - name: for the poll thread and the log (`kafka-<name>`).
    ///   - readiness: ready from the start (nothing says otherwise yet), not
    ///     ready while deliveries fail, ready again at the next success.
    ///   - metricsPrefix: e.g. `beacon_enricher_kafka` gives `…_delivery_errors_total`,
    ///     `…_producer_replaced_total` and `…_up`; nil: no metrics.
    public init(
        config: KafkaProducerConfig, name: String, drainTimeout: Duration, readiness: ReadinessCondition? = nil,
        metricsPrefix: String? = nil, logger: Logger
    ) throws(KafkaError) {
        self.name = name
        let metrics = metricsPrefix.map(SenderMetrics.init(prefix:))
        let reports = DeliveryInbox()
        self.reports = reports
        readiness?.ready()
        let router = DeliveryRouter(inbox: reports, readiness: readiness, metrics: metrics)
        self.router = router
        let logger = logger.with("producer", "\(name)")
        slot = ProducerSlot(try KafkaProducer(config: config, onDelivery: router.deliver), metrics: metrics, logger: logger)
        thread = LoopThread(PollLoop(name: "kafka-\(name)", slot: slot), drainTimeout: drainTimeout, logger: logger)
    }

    // MARK: Awaiting deliveries

    /// Produces `message` and returns its delivery report; throws the
    /// delivery's error when Kafka did not take it.
    @discardableResult
    public func send(_ message: OutgoingMessage) async throws(KafkaError) -> DeliveryReport {
        try await send([message])[0]
    }

    /// Produces every message and returns their reports in order, once all
    /// are in; throws the first failure (the others may have been delivered).
    @discardableResult
    public func send(_ messages: [OutgoingMessage]) async throws(KafkaError) -> [DeliveryReport] {
        guard !messages.isEmpty else { return [] }
        let wait = DeliveryWait(count: messages.count, blocking: false)
        var next = 0
        while true {
            next = produce(messages, from: next, into: wait)
            if next == messages.count { break }
            try? await Task.sleep(for: .milliseconds(5))  // the local queue is full: let the poll thread drain it
        }
        return try Self.checked(await wait.reports())
    }

    /// `send` for a loop thread: blocks it until every report is in, or
    /// `timeout` passed (then throws `_TIMED_OUT`; the messages may still
    /// be delivered later).
    @discardableResult
    public func sendAndWait(_ messages: [OutgoingMessage], timeout: Duration = .seconds(60)) throws(KafkaError) -> [DeliveryReport] {
        guard !messages.isEmpty else { return [] }
        let deadline = ContinuousClock.now + timeout
        let wait = DeliveryWait(count: messages.count, blocking: true)
        var next = 0
        while true {
            next = produce(messages, from: next, into: wait)
            if next == messages.count { break }
            usleep(5_000)  // the local queue is full: let the poll thread drain it
        }
        guard let reports = wait.reports(timeout: deadline - .now) else {
            throw KafkaError(code: KafkaError.timedOutCode, message: "\(messages.count) message(s) not confirmed by Kafka within \(timeout)")
        }
        return try Self.checked(reports)
    }

    // MARK: Hot path

    /// Queues one message and returns at once; its report, carrying `token`
    /// (below 2^63), arrives in `reports`. Throws `isQueueFull` when the
    /// local queue is at its bound (wait on `reports` and try again).
    public func enqueue(_ message: OutgoingMessage, token: UInt64) throws(KafkaError) {
        precondition(token < DeliveryRouter.awaitedTokens, "tokens from 2^63 up are the sender's own")
        try slot.current.produce(topic: message.topic, key: message.key, value: message.value, token: token)
    }

    // MARK: Stopping

    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    /// Waits up to the drain time for what is outstanding, then reports the
    /// rest as failed and stops the poll thread. Idempotent.
    @discardableResult
    public func close() async -> LoopOutcome? {
        await thread.stop()
    }

    // MARK: Plumbing

    /// Produces from `start` on; returns where a full queue stopped it
    /// (`messages.count` when all went). A message that cannot be produced
    /// at all gets a failed report at once.
    private func produce(_ messages: [OutgoingMessage], from start: Int, into wait: DeliveryWait) -> Int {
        let producer = slot.current
        for index in start..<messages.count {
            let token = nextToken.wrappingAdd(1, ordering: .relaxed).oldValue
            router.expect(token, wait: wait, index: index)
            let message = messages[index]
            do {
                try producer.produce(topic: message.topic, key: message.key, value: message.value, token: token)
            } catch {
                router.forget(token)
                if error.isQueueFull { return index }
                wait.record(DeliveryReport(token: token, topic: message.topic, partition: -1, offset: -1, error: error), at: index)
            }
        }
        return messages.count
    }

    private static func checked(_ reports: [DeliveryReport]) throws(KafkaError) -> [DeliveryReport] {
        if let failure = reports.first(where: { $0.error != nil })?.error { throw failure }
        return reports
    }
}

/// Where delivery reports go: to the waiting send, or to the inbox; and what
/// they say about Kafka's health.
final class DeliveryRouter: Sendable {
    /// Tokens of awaited sends start here; below are the callers' own.
    static let awaitedTokens: UInt64 = 1 << 63

    private let waits = Mutex<[UInt64: (wait: DeliveryWait, index: Int)]>([:])
    private let inbox: DeliveryInbox
    private let readiness: ReadinessCondition?
    private let metrics: SenderMetrics?
    private let failing = Atomic<Bool>(false)

    init(inbox: DeliveryInbox, readiness: ReadinessCondition?, metrics: SenderMetrics?) {
        self.inbox = inbox
        self.readiness = readiness
        self.metrics = metrics
    }

    func expect(_ token: UInt64, wait: DeliveryWait, index: Int) {
        waits.withLock { $0[token] = (wait, index) }
    }

    func forget(_ token: UInt64) {
        _ = waits.withLock { $0.removeValue(forKey: token) }
    }

    /// The producer's `onDelivery`, called on the poll thread.
    @Sendable func deliver(_ report: DeliveryReport) {
        if let error = report.error {
            metrics?.deliveryErrors.increment()
            if !failing.exchange(true, ordering: .relaxed) { metrics?.up.record(0) }
            readiness?.notReady("Kafka deliveries failing: \(error)")
        } else if failing.load(ordering: .relaxed), failing.exchange(false, ordering: .relaxed) {
            metrics?.up.record(1)
            readiness?.ready()
        }
        if report.token >= Self.awaitedTokens {
            if let waiting = waits.withLock({ $0.removeValue(forKey: report.token) }) {
                waiting.wait.record(report, at: waiting.index)
            }
        } else {
            inbox.add(report)
        }
    }
}

/// The current producer, replaced after a fatal error.
final class ProducerSlot: Sendable {
    private let producer: Mutex<KafkaProducer>
    private let metrics: SenderMetrics?
    private let logger: Logger

    init(_ producer: KafkaProducer, metrics: SenderMetrics?, logger: Logger) {
        self.producer = Mutex(producer)
        self.metrics = metrics
        self.logger = logger
        metrics?.up.record(1)
    }

    var current: KafkaProducer { producer.withLock { $0 } }

    /// Purges the broken producer (every outstanding message is reported
    /// failed, for its sender to resend) and puts a new one in its place.
    /// Returns false when no new one could be made.
    func replace(after error: KafkaError) -> Bool {
        let broken = current
        logger.warning("kafka producer failed fatally; replacing it", metadata: ["error": "\(error)", "outstanding": "\(broken.outstanding)"])
        broken.purgeOutstanding()
        do {
            let fresh = try broken.makeReplacement()
            producer.withLock { $0 = fresh }
            metrics?.replaced.increment()
            return true
        } catch {
            logger.error("cannot create a new kafka producer", metadata: ["error": "\(error)"])
            return false
        }
    }
}

/// Serves the producer's delivery reports until told to stop, then waits
/// (bounded) for what is outstanding.
struct PollLoop: BlockingLoop {
    let name: String
    let slot: ProducerSlot

    func run(_ control: LoopControl) -> LoopOutcome {
        while !control.isStopping {
            slot.current.poll(timeoutMs: 50)
            if let fatal = slot.current.fatalError, !slot.replace(after: fatal) {
                control.pause(.seconds(1))
            }
        }
        let producer = slot.current
        try? producer.flush(timeoutMs: Int32(clamping: control.drainTimeLeft.wholeMilliseconds))
        let left = producer.outstanding
        guard left > 0 else { return .finished }
        // Nobody may wait for a report that never comes: fail what is left.
        producer.purgeOutstanding(timeoutMs: 1_000)
        return .leftUndone("\(left) message(s) not confirmed by Kafka, reported to their senders as failed")
    }
}

struct SenderMetrics: Sendable {
    let deliveryErrors: Counter
    let replaced: Counter
    let up: Gauge

    init(prefix: String) {
        deliveryErrors = Counter(label: "\(prefix)_delivery_errors_total")
        replaced = Counter(label: "\(prefix)_producer_replaced_total")
        up = Gauge(label: "\(prefix)_up")
    }
}
