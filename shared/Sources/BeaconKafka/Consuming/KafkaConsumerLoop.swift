import BeaconCore
import Logging

/// What a `KafkaConsumerLoop` reads.
public enum KafkaSubscription: Sendable, CustomStringConvertible {
    /// Joins the consumer group for `topics`: the group shares their
    /// partitions among its members and remembers committed offsets.
    case group(String, topics: [String])
    /// Reads every partition of one topic from its end, in no group.
    case tail(String)

    var topics: [String] {
        switch self {
        case .group(_, let topics): topics
        case .tail(let topic): [topic]
        }
    }

    public var description: String {
        switch self {
        case .group(let group, let topics): "group \(group) on \(topics.joined(separator: ", "))"
        case .tail(let topic): "tail of \(topic)"
        }
    }
}

/// What a consumer loop does with the messages it polls.
public protocol KafkaMessageHandler: Sendable {
    /// Called on the loop's thread, one message at a time, in partition
    /// order. It may block (waiting for room, retrying an action), through
    /// `control`, so that shutdown ends the wait.
    func handle(_ message: KafkaMessage, from consumer: KafkaConsumer, control: LoopControl)
    /// Told of every change of the loop's partitions (see `AssignmentChange`).
    func assignmentChanged(_ change: AssignmentChange)
    /// After the loop stopped polling, before the consumer closes (and
    /// commits what was stored): finish what is in hand by the drain deadline.
    func finish(_ consumer: KafkaConsumer, control: LoopControl) -> LoopOutcome
}

extension KafkaMessageHandler {
    public func assignmentChanged(_ change: AssignmentChange) {}
    public func finish(_ consumer: KafkaConsumer, control: LoopControl) -> LoopOutcome { .finished }
}

/// Polls one Kafka subscription on a loop thread and hands each message to
/// its handler: the one consumer loop of every service. It keeps the
/// consumer through broker outages (librdkafka reconnects and rejoins by
/// itself) and recreates it only after a fatal error, and it keeps one
/// readiness condition true:
///
/// - not ready while polling fails, and ready again once the broker answers
///   a metadata request for the subscribed topics (probed every second);
/// - in a group, not ready while the group assigned this member no
///   partition (it is joining, or the group has more members than partitions).
public struct KafkaConsumerLoop: BlockingLoop {
    public struct Settings: Sendable {
        public var brokers: String
        public var subscription: KafkaSubscription
        /// librdkafka consumer properties, e.g. `session.timeout.ms`.
        public var properties: [String: String]
        public var pollTimeoutMs: Int32 = 200
        public var probeInterval: Duration = .seconds(1)

        public init(brokers: String, subscription: KafkaSubscription, properties: [String: String] = [:]) {
            self.brokers = brokers
            self.subscription = subscription
            self.properties = properties
        }
    }

    public let name: String
    private let settings: Settings
    private let handler: any KafkaMessageHandler
    private let readiness: ReadinessCondition?
    private let logger: Logger

    public init(name: String, settings: Settings, handler: any KafkaMessageHandler, readiness: ReadinessCondition?, logger: Logger) {
        self.name = name
        self.settings = settings
        self.handler = handler
        self.readiness = readiness
        self.logger = logger.with("consumer", "\(name)")
    }

    public func run(_ control: LoopControl) -> LoopOutcome {
        var consumer: KafkaConsumer?
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
        var health = ConsumerHealth(subscription: settings.subscription)
        var messagesSinceReport = 0
        while !control.isStopping {
            guard let current = consumer ?? connect(control: control, backoff: &backoff) else { continue }
            consumer = current
            do {
                let message = try current.poll(timeoutMs: settings.pollTimeoutMs)
                if health.pollFailure != nil, health.probeDue(every: settings.probeInterval) {
                    health.pollFailure = probe(current)
                }
                // Readiness is looked at when the topic is quiet and every so
                // many messages, not per message (it takes two locks).
                messagesSinceReport += 1
                if message == nil || messagesSinceReport >= 256 {
                    messagesSinceReport = 0
                    report(health, partitions: current.assignedPartitionCount)
                }
                if let message { handler.handle(message, from: current, control: control) }
            } catch {
                if let fatal = current.fatalError {
                    logger.warning("kafka consumer failed fatally; recreating it", metadata: ["error": "\(fatal)"])
                    readiness?.notReady("kafka consumer failed: \(fatal)")
                    current.close()
                    consumer = nil
                    backoff.wait(control)
                    continue
                }
                // librdkafka reports outages as poll errors and recovers by
                // itself; a probe says when the broker answers again.
                logger.debug("kafka poll failed", metadata: ["error": "\(error)"])
                health.failed("\(error)")
                report(health, partitions: current.assignedPartitionCount)
            }
        }
        guard let consumer else { return .finished }
        let outcome = handler.finish(consumer, control: control)
        consumer.close()
        return outcome
    }

    private func connect(control: LoopControl, backoff: inout Backoff) -> KafkaConsumer? {
        do {
            let handler = self.handler
            let consumer: KafkaConsumer
            switch settings.subscription {
            case .group(let group, let topics):
                consumer = try KafkaConsumer(
                    brokers: settings.brokers, groupId: group, extra: settings.properties,
                    onAssignment: { change in handler.assignmentChanged(change) })
                try consumer.subscribe(topics)
            case .tail(let topic):
                consumer = try KafkaConsumer(brokers: settings.brokers, groupId: nil, extra: settings.properties)
                try consumer.assignAllPartitions(of: topic, from: .end)
            }
            backoff.reset()
            logger.info("consuming", metadata: ["subscription": "\(settings.subscription)"])
            return consumer
        } catch {
            readiness?.notReady("kafka consumer cannot start: \(error)")
            logger.warning("kafka consumer could not start; retrying", metadata: ["error": "\(error)"])
            backoff.wait(control)
            return nil
        }
    }

    /// Asks the broker for the subscribed topics; nil when it answered with all of them.
    private func probe(_ consumer: KafkaConsumer) -> String? {
        do {
            let metadata = try consumer.metadata(timeoutMs: 1_000)
            for topic in settings.subscription.topics {
                guard let info = metadata.topic(topic) else { return "topic \(topic) does not exist" }
                if let error = info.error { return "topic \(topic): \(error.message)" }
            }
            return nil
        } catch {
            return "\(error)"
        }
    }

    private func report(_ health: ConsumerHealth, partitions: Int) {
        readiness?.update(failing: health.reason(partitions: partitions))
    }
}

/// Why a consumer loop is not ready, if it is not.
struct ConsumerHealth {
    let subscription: KafkaSubscription
    /// The last poll error, until a probe found the broker answering.
    var pollFailure: String?
    private var lastProbe = ContinuousClock.now

    init(subscription: KafkaSubscription) {
        self.subscription = subscription
    }

    mutating func failed(_ reason: String) {
        if pollFailure == nil { lastProbe = .now }
        pollFailure = reason
    }

    mutating func probeDue(every interval: Duration) -> Bool {
        guard ContinuousClock.now - lastProbe >= interval else { return false }
        lastProbe = .now
        return true
    }

    func reason(partitions: Int) -> String? {
        if let pollFailure { return "kafka unavailable: \(pollFailure)" }
        if case .group = subscription, partitions == 0 {
            return "no partitions assigned by \(subscription) (joining, or more members than partitions)"
        }
        return nil
    }
}
