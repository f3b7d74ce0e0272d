import Atomics
import BeaconCore
import BeaconKafka
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Consumes the push-request topics and sends many pushes at once. A
/// message's offset is stored only when its outcome is on the feedback topic,
/// and only once every earlier message of its partition is too; on SIGTERM
/// it stops reading and lets what is in flight finish (bounded).
final class PushConsumer: Service, @unchecked Sendable {
    struct Settings: Sendable {
        var brokers: String
        var topics: [String]
        var group: String
        var consumerProperties: [String: String]
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
    private let sender: PushSender
    private let feedback: FeedbackWriter
    private let remover: InvalidTokenRemover
    private let metrics: PusherMetrics
    private let readiness: Readiness
    private let logger: Logger
    private let offsets = Mutex(OffsetTracker())
    private let stopping = ManagedAtomic(false)

    init(
        settings: Settings, sender: PushSender, feedback: FeedbackWriter, remover: InvalidTokenRemover, metrics: PusherMetrics,
        readiness: Readiness, logger: Logger
    ) {
        self.settings = settings
        self.sender = sender
        self.feedback = feedback
        self.remover = remover
        self.metrics = metrics
        self.readiness = readiness
        self.logger = logger
        readiness.register("kafka", reason: "not subscribed yet")
    }

    func run() async throws {
        let consumer = try KafkaConsumer(brokers: settings.brokers, groupId: settings.group, extra: settings.consumerProperties)
        try consumer.subscribe(settings.topics)
        readiness.markReady("kafka")
        logger.info("consuming push requests", metadata: ["topics": "\(settings.topics)", "group": "\(settings.group)"])
        let (messages, continuation) = AsyncStream<KafkaMessage>.makeStream()
        // Two bounds, each a permit the poll thread takes per message: sends
        // in progress, and messages whose outcome is not yet on the feedback topic.
        let permits = DispatchSemaphore(value: settings.concurrency)
        let unconfirmed = DispatchSemaphore(value: max(settings.maxUnconfirmed, settings.concurrency))
        let polling = Thread { [self] in
            while !stopping.load(ordering: .relaxed) {
                unconfirmed.wait()
                permits.wait()
                guard !stopping.load(ordering: .relaxed) else { permits.signal(); unconfirmed.signal(); break }
                do {
                    guard let message = try consumer.poll(timeoutMs: 200) else {
                        permits.signal()
                        unconfirmed.signal()
                        continue
                    }
                    offsets.withLock { $0.started(topic: message.topic, partition: message.partition, offset: message.offset) }
                    continuation.yield(message)
                } catch {
                    permits.signal()
                    unconfirmed.signal()
                    readiness.markNotReady("kafka", reason: "\(error)")
                    logger.warning("kafka poll failed", metadata: ["error": "\(error)"])
                    Thread.sleep(forTimeInterval: 1)
                }
            }
            continuation.finish()
        }
        polling.name = "beacon-push-poll"
        polling.start()

        let sends = Task {
            await withDiscardingTaskGroup { group in
                for await message in messages {
                    group.addTask { [self] in
                        await process(message, consumer: consumer, sent: { permits.signal() })
                        unconfirmed.signal()
                    }
                }
            }
        }
        try? await gracefulShutdown()
        stopping.store(true, ordering: .relaxed)
        permits.signal()  // wake the poll thread if it waits for a permit
        unconfirmed.signal()
        logger.info("draining push requests in flight", metadata: ["inFlight": "\(offsets.withLock { $0.count })"])
        // Bounded: what does not finish in time is not committed and will be
        // delivered again by the next pusher.
        let finishedInTime = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await sends.value; return true }
            group.addTask { [drainTimeout = settings.drainTimeout] in (try? await Task.sleep(for: drainTimeout)) == nil }
            let first = await group.next() ?? true
            group.cancelAll()
            return first
        }
        if !finishedInTime {
            sends.cancel()
            logger.warning("drain timeout reached; unfinished push requests will be redelivered",
                           metadata: ["inFlight": "\(offsets.withLock { $0.count })"])
        }
        consumer.close()
    }

    /// Sends one push request, calls `sent` once the send is over, then
    /// records the outcome and stores the offset when it may move.
    private func process(_ message: KafkaMessage, consumer: KafkaConsumer, sent: () -> Void) async {
        metrics.inFlight.record(offsets.withLock { $0.count })
        let raw = try? JSONParser.parse(message.value)
        var request: PushRequest?
        let outcome: PushOutcome
        do {
            guard let raw else { throw PushRequest.Invalid(description: "not JSON") }
            let parsed = try PushRequest(json: raw)
            request = parsed
            outcome = await sender.send(parsed)
        } catch {
            outcome = PushOutcome(status: .invalidRequest, reason: "\(error)", attempts: 0, latency: .zero)
        }
        sent()
        let app = request?.app ?? "unknown", platform = request?.platform ?? "unknown"
        if outcome.status == .invalidToken, let request { remover.add(app: request.app, token: request.token) }
        metrics.record(outcome, app: app, platform: platform)
        var logger = logger
        logger[metadataKey: "requestId"] = "\(request?.requestId ?? "-")"
        if let source = request?.sourceMessageId { logger[metadataKey: "messageId"] = "\(source)" }
        let level: Logger.Level = outcome.status == .delivered || outcome.status == .dryRun ? .debug : .info
        logger.log(level: level, "push outcome", metadata: [
            "status": "\(outcome.status.rawValue)", "reason": "\(outcome.reason ?? "")", "attempts": "\(outcome.attempts)",
        ])

        // The outcome must be recorded before the offset may move: keep trying.
        let record = outcome.feedback(for: request, raw: raw)
        var backoff = Duration.milliseconds(100)
        while true {
            do {
                try await feedback.write(record, key: request?.token ?? "")
                break
            } catch {
                // Cancelled by the drain timeout: leave the offset; it is delivered again.
                if Task.isCancelled { return }
                logger.warning("feedback write failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
        let (committable, stillInFlight) = offsets.withLock { tracker in
            (tracker.finished(topic: message.topic, partition: message.partition, offset: message.offset), tracker.count)
        }
        metrics.inFlight.record(stillInFlight)
        if let committable {
            let marker = KafkaMessage(topic: message.topic, partition: message.partition, offset: committable, key: nil, value: [], timestampMs: nil)
            do {
                try consumer.storeOffset(marker)
            } catch {
                logger.warning("could not store offset", metadata: ["error": "\(error)"])
            }
        }
    }
}
