import BeaconCore
import BeaconKafka
import BeaconRedis
import Logging

/// Moves one Redis Stream into Kafka on a loop thread: read a page of
/// entries, enrich each, produce it, and acknowledge entries in Redis as
/// Kafka confirms them. At most `maxInFlight` entries are unconfirmed; while
/// Kafka is away the rest simply stay in Redis.
struct StreamPipeline: BlockingLoop {
    struct Settings: Sendable {
        var topic: String
        var invalidTopic: String
        var maxInFlight: Int
        var claimInterval: Duration
    }

    /// What the pipeline thread keeps between steps.
    struct State {
        let source: StreamSource
        var forwarder: EventForwarder
        var lastClaim = ContinuousClock.now - .seconds(3600)
    }

    let name: String
    private let sourceSettings: StreamSource.Settings
    private let sender: KafkaSender
    private let enricher: EventEnricher
    private let settings: Settings
    private let metrics: EnricherMetrics
    private let redisReady: ReadinessCondition
    private let logger: Logger

    init(
        name: String, source: StreamSource.Settings, sender: KafkaSender, enricher: EventEnricher, settings: Settings,
        metrics: EnricherMetrics, context: ServiceContext
    ) {
        self.name = name
        self.sourceSettings = source
        self.sender = sender
        self.enricher = enricher
        self.settings = settings
        self.metrics = metrics
        redisReady = context.condition("redis \(source.url)", reason: "not connected yet")
        self.logger = context.logger.with("redis", "\(source.url)")
    }

    func makeState() -> State {
        State(source: StreamSource(settings: sourceSettings), forwarder: EventForwarder(sender: sender))
    }

    func run(_ control: LoopControl) -> LoopOutcome {
        var state = makeState()
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(2))
        while !control.isStopping {
            do {
                try step(&state)
                backoff.reset()
            } catch let error as RedisError {
                state.source.connectionLost()
                redisReady.notReady("\(error)")
                logger.warning("redis unavailable; retrying", metadata: ["error": "\(error)"])
                backoff.wait(control)
            } catch {
                logger.warning("kafka produce failed; retrying", metadata: ["error": "\(error)"])
                backoff.wait(control)
            }
        }
        let delivered = state.forwarder.drain(until: control.drainDeadline)
        try? state.source.acknowledge(delivered)
        metrics.acknowledged.increment(by: delivered.count)
        let unconfirmed = state.forwarder.inFlight
        logger.info("stream pipeline stopped", metadata: ["acknowledged": "\(delivered.count)", "unconfirmed": "\(unconfirmed)"])
        return unconfirmed == 0 ? .finished
            : .leftUndone("\(unconfirmed) entries not confirmed by Kafka; they stay pending in Redis for the next enricher")
    }

    /// One round: acknowledge what Kafka confirmed, take over abandoned
    /// entries now and then, read and forward new ones.
    func step(_ state: inout State) throws {
        // Confirmations first: they free room and let Redis forget entries.
        try acknowledge(try state.forwarder.collectDelivered(), from: state.source)
        metrics.inFlight.record(state.forwarder.inFlight)

        guard state.forwarder.inFlight < settings.maxInFlight else {
            try acknowledge(try state.forwarder.collectDelivered(timeout: .milliseconds(20)), from: state.source)
            return
        }
        if ContinuousClock.now - state.lastClaim >= settings.claimInterval {
            state.lastClaim = .now
            let claimed = try state.source.claimAbandoned()
            if !claimed.isEmpty {
                metrics.claimed.increment(by: claimed.count)
                logger.info("claimed entries left by another consumer", metadata: ["count": "\(claimed.count)"])
                try forward(claimed, with: &state.forwarder)
            }
        }
        // Block on Redis only when nothing waits for a Kafka confirmation.
        let messages = try state.source.read(block: state.forwarder.inFlight == 0)
        redisReady.ready()
        if messages.isEmpty {
            if state.forwarder.inFlight > 0 {
                try acknowledge(try state.forwarder.collectDelivered(timeout: .milliseconds(5)), from: state.source)
            }
            return
        }
        try forward(messages, with: &state.forwarder)
    }

    private func forward(_ messages: [StreamMessage], with forwarder: inout EventForwarder) throws(KafkaError) {
        let started = ContinuousClock.now
        for message in messages {
            switch enricher.process(message.field(StreamEntry.eventField)) {
            case .enriched(let key, let value):
                try forwarder.send(entryId: message.id, message: OutgoingMessage(topic: settings.topic, key: key, value: value))
                metrics.enriched.increment()
            case .invalid(let key, let value, let reason):
                try forwarder.send(entryId: message.id, message: OutgoingMessage(topic: settings.invalidTopic, key: key, value: value))
                metrics.invalid.increment()
                if logger.logLevel <= .debug {
                    let messageId = (try? JSONParser.parse(value))?["messageId"]?.stringValue ?? "-"
                    logger.debug("invalid event", metadata: ["reason": "\(reason)", "entry": "\(message.id)", "messageId": "\(messageId)"])
                }
            }
        }
        metrics.batchDuration.recordElapsed(since: started)
    }

    private func acknowledge(_ ids: [String], from source: StreamSource) throws(RedisError) {
        guard !ids.isEmpty else { return }
        try source.acknowledge(ids)
        metrics.acknowledged.increment(by: ids.count)
    }
}
