import BeaconCore
import BeaconKafka
import BeaconRedis
import Logging

/// Moves one Redis Stream into Kafka on a loop thread: read a page of
/// entries, enrich each (or, in `.verbatim` mode, forward it unchanged),
/// produce it, and acknowledge entries in Redis as Kafka confirms them. At
/// most `maxInFlight` entries are unconfirmed; while Kafka is away the rest
/// simply stay in Redis.
struct StreamPipeline: BlockingLoop {
    /// What becomes of each entry on its way to `topic`.
    enum Mode: Sendable, Equatable {
        /// Events: validated, normalised, enriched, keyed by user.
        case enrich
        /// Forwarded byte for byte, keyed by the entry's `keyField` (mail registrations).
        case verbatim(keyField: String)
    }

    struct Settings: Sendable {
        var mode: Mode = .enrich
        var topic: String
        var invalidTopic: String
        var maxInFlight: Int
        var claimInterval: Duration
        /// Entries a second this pipeline reads at most (nil: as fast as it
        /// can). The overflow stream's pipeline is paced, so that hot users'
        /// events never crowd out everyone else's.
        var pace: Double? = nil
    }

    /// What the pipeline thread keeps between steps.
    struct State {
        let source: StreamSource
        var forwarder: EventForwarder
        var lastClaim = ContinuousClock.now - .seconds(3600)
        var pace: TokenBucket?
        let clock = MonotonicSeconds()
        /// Set by a paced step that found no token: how long to wait.
        var paceWait: Duration?
        /// Events an entry held in the last read: entries are packed, so a
        /// read asks for no more than the room left for events in flight.
        var eventsPerEntry = 1
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
        // The events pipeline names its Redis alone; the others add their stream.
        redisReady = context.condition(
            settings.pace == nil && settings.mode == .enrich ? "redis \(source.url)" : "redis \(source.url) \(source.stream)",
            reason: "not connected yet")
        self.logger = context.logger.with("redis", "\(source.url)")
    }

    func makeState() -> State {
        var state = State(source: StreamSource(settings: sourceSettings), forwarder: EventForwarder(sender: sender))
        // A burst of one read's worth, so a paced pipeline reads whole pages.
        state.pace = settings.pace.map { TokenBucket(rate: $0, burst: max($0, Double(sourceSettings.readCount)), now: 0) }
        return state
    }

    func run(_ control: LoopControl) -> LoopOutcome {
        var state = makeState()
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(2))
        while !control.isStopping {
            do {
                try step(&state)
                backoff.reset()
                if let wait = state.paceWait {
                    state.paceWait = nil
                    control.pause(wait)
                }
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
        var count: Int?
        let now = state.clock.now
        if var pace = state.pace {
            let available = pace.available(now: now)
            state.pace = pace
            guard available > 0 else {
                state.paceWait = .milliseconds(Int(pace.secondsUntilToken(now: now) * 1000) + 1)
                return
            }
            count = available
        }
        let room = max(1, (settings.maxInFlight - state.forwarder.inFlight) / state.eventsPerEntry)
        count = min(count ?? room, room)
        // Block on Redis only when nothing waits for a Kafka confirmation.
        let messages = try state.source.read(block: state.forwarder.inFlight == 0, count: count)
        _ = state.pace?.take(messages.count, now: now)
        redisReady.ready()
        if messages.isEmpty {
            if state.forwarder.inFlight > 0 {
                try acknowledge(try state.forwarder.collectDelivered(timeout: .milliseconds(5)), from: state.source)
            }
            return
        }
        let events = try forward(messages, with: &state.forwarder)
        state.eventsPerEntry = max(1, (events + messages.count - 1) / messages.count)
    }

    /// Produces the entries' events; how many there were.
    @discardableResult
    private func forward(_ messages: [StreamMessage], with forwarder: inout EventForwarder) throws(KafkaError) -> Int {
        let started = ContinuousClock.now
        let verbatim: VerbatimForwarding? = if case .verbatim(let keyField) = settings.mode { VerbatimForwarding(keyField: keyField) } else { nil }
        var outgoing: [OutgoingMessage] = []
        var events = 0
        for message in messages {
            outgoing.removeAll(keepingCapacity: true)
            if let verbatim {
                outgoing.append(outgoingMessage(verbatim.process(message.field(StreamEntry.eventField)), entry: message.id, verbatim: true))
            } else {
                // An entry holds one event or many (packed by the tracker);
                // one without any is parked as invalid, as before.
                let entryEvents = message.events
                if entryEvents.isEmpty { outgoing.append(outgoingMessage(enricher.process(nil), entry: message.id, verbatim: false)) }
                for event in entryEvents {
                    outgoing.append(outgoingMessage(enricher.process(event), entry: message.id, verbatim: false))
                }
            }
            try forwarder.send(entryId: message.id, messages: outgoing)
            events += outgoing.count
        }
        metrics.batchDuration.recordElapsed(since: started)
        return events
    }

    private func outgoingMessage(_ result: EnrichmentResult, entry: String, verbatim: Bool) -> OutgoingMessage {
        switch result {
        case .enriched(let key, let value):
            if verbatim { metrics.forwarded.increment() } else { metrics.enriched.increment() }
            return OutgoingMessage(topic: settings.topic, key: key, value: value)
        case .invalid(let key, let value, let reason):
            if verbatim { metrics.forwardedInvalid.increment() } else { metrics.invalid.increment() }
            if logger.logLevel <= .debug {
                let messageId = (try? JSONParser.parse(value))?["messageId"]?.stringValue ?? "-"
                logger.debug("invalid event", metadata: ["reason": "\(reason)", "entry": "\(entry)", "messageId": "\(messageId)"])
            }
            return OutgoingMessage(topic: settings.invalidTopic, key: key, value: value)
        }
    }

    private func acknowledge(_ ids: [String], from source: StreamSource) throws(RedisError) {
        guard !ids.isEmpty else { return }
        try source.acknowledge(ids)
        metrics.acknowledged.increment(by: ids.count)
    }
}
