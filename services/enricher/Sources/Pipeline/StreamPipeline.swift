import BeaconCore
import BeaconKafka
import BeaconRedis
import Foundation
import Logging

/// Moves one Redis Stream into Kafka on its own thread: read a page of
/// entries, enrich each, produce it, and acknowledge entries in Redis as
/// Kafka confirms them. At most `maxInFlight` entries are unconfirmed; while
/// Kafka is away the rest simply stay in Redis.
final class StreamPipeline: @unchecked Sendable {
    struct Settings: Sendable {
        var topic: String
        var invalidTopic: String
        var maxInFlight: Int
        var claimInterval: Duration
        var drainTimeoutMs: Int32
    }

    private let source: StreamSource
    private let forwarder: EventForwarder
    private let enricher: EventEnricher
    private let settings: Settings
    private let metrics: EnricherMetrics
    private let readiness: Readiness
    private let logger: Logger
    private let readinessName: String
    private var lastClaim = ContinuousClock.now - .seconds(3600)

    init(
        source: StreamSource, forwarder: EventForwarder, enricher: EventEnricher, settings: Settings,
        metrics: EnricherMetrics, readiness: Readiness, logger: Logger
    ) {
        self.source = source
        self.forwarder = forwarder
        self.enricher = enricher
        self.settings = settings
        self.metrics = metrics
        self.readiness = readiness
        self.readinessName = "redis \(source.settings.url)"
        var logger = logger
        logger[metadataKey: "redis"] = "\(source.settings.url)"
        self.logger = logger
        readiness.register(readinessName, reason: "not connected yet")
    }

    /// Runs until `shouldStop` turns true, then drains what is in flight.
    func run(shouldStop: @escaping @Sendable () -> Bool) {
        var backoff = Duration.milliseconds(100)
        while !shouldStop() {
            do {
                try step()
                backoff = .milliseconds(100)
            } catch let error as RedisError {
                source.disconnect()
                readiness.markNotReady(readinessName, reason: "\(error)")
                logger.warning("redis unavailable; retrying", metadata: ["error": "\(error)"])
                pause(&backoff)
            } catch {
                // A replaced producer resends what was pending; entries it had
                // not yet produced are read again from our pending list.
                source.rereadPending()
                logger.error("kafka producer failed and was replaced", metadata: ["error": "\(error)"])
                pause(&backoff)
            }
        }
        let delivered = forwarder.drain(timeoutMs: settings.drainTimeoutMs)
        try? source.acknowledge(delivered)
        metrics.acknowledged.increment(by: delivered.count)
        logger.info("stream pipeline stopped", metadata: ["acknowledged": "\(delivered.count)", "unconfirmed": "\(forwarder.inFlight)"])
    }

    private func pause(_ backoff: inout Duration) {
        let (seconds, attoseconds) = backoff.components
        Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
        backoff = min(backoff * 2, .seconds(2))
    }

    private func step() throws {
        // Confirmations first: they free room and let Redis forget entries.
        let delivered = try forwarder.collectDelivered(timeoutMs: 0)
        try acknowledge(delivered)
        metrics.inFlight.record(forwarder.inFlight)

        guard forwarder.inFlight < settings.maxInFlight else {
            try acknowledge(try forwarder.collectDelivered(timeoutMs: 20))
            return
        }
        if ContinuousClock.now - lastClaim >= settings.claimInterval {
            lastClaim = .now
            let claimed = try source.claimAbandoned()
            if !claimed.isEmpty {
                metrics.claimed.increment(by: claimed.count)
                logger.info("claimed entries left by another consumer", metadata: ["count": "\(claimed.count)"])
                try forward(claimed)
            }
        }
        // Block on Redis only when nothing waits for a Kafka confirmation.
        let messages = try source.read(block: forwarder.inFlight == 0)
        readiness.markReady(readinessName)
        if messages.isEmpty {
            if forwarder.inFlight > 0 { try acknowledge(try forwarder.collectDelivered(timeoutMs: 5)) }
            return
        }
        try forward(messages)
    }

    private func forward(_ messages: [StreamMessage]) throws {
        let started = ContinuousClock.now
        for message in messages {
            switch enricher.process(message.field(StreamEntry.eventField)) {
            case .enriched(let key, let value):
                try forwarder.send(entryId: message.id, topic: settings.topic, key: key, value: value)
                metrics.enriched.increment()
            case .invalid(let key, let value, let reason):
                try forwarder.send(entryId: message.id, topic: settings.invalidTopic, key: key, value: value)
                metrics.invalid.increment()
                if logger.logLevel <= .debug {
                    let messageId = (try? JSONParser.parse(value))?["messageId"]?.stringValue ?? "-"
                    logger.debug("invalid event", metadata: ["reason": "\(reason)", "entry": "\(message.id)", "messageId": "\(messageId)"])
                }
            }
        }
        metrics.batchDuration.recordElapsed(since: started)
    }

    private func acknowledge(_ ids: [String]) throws(RedisError) {
        guard !ids.isEmpty else { return }
        try source.acknowledge(ids)
        metrics.acknowledged.increment(by: ids.count)
    }
}
