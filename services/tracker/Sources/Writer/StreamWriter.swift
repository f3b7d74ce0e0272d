import BeaconCore
import BeaconRedis
import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import Atomics

/// Drains the event queue into one Redis Stream on its own thread: many
/// requests' events go out as one pipeline of XADDs (plus an XLEN to watch the
/// backlog), and each request is told its outcome once Redis answered.
/// While Redis is down the writer keeps retrying, and requests that waited
/// past their deadline are answered 503 (the client retries; nothing that got
/// a 2xx is ever dropped).
final class StreamWriter: Service, @unchecked Sendable {
    struct Settings: Sendable {
        var redisURL: RedisURL
        var stream: String
        /// Backlog at which the tracker refuses new events (enricher or Kafka down).
        var maxStreamLength: Int
        var maxPipelineEvents: Int
        var connectTimeout: Duration
    }

    let queue: EventQueue<WriteRequest>
    private let settings: Settings
    private let readiness: Readiness
    private let metrics: TrackerMetrics
    private let logger: Logger
    private let stopping = ManagedAtomic(false)
    private let backlogFull = ManagedAtomic(false)
    private var connection: RedisConnection?  // writer thread only
    private var retryBatch: [WriteRequest] = []  // writer thread only

    init(settings: Settings, queue: EventQueue<WriteRequest>, readiness: Readiness, metrics: TrackerMetrics, logger: Logger) {
        self.settings = settings
        self.queue = queue
        self.readiness = readiness
        self.metrics = metrics
        self.logger = logger
        readiness.register("redis", reason: "not connected yet")
    }

    /// Read by request handlers: refuse intake while the stream's backlog is at its bound.
    var isBacklogFull: Bool { backlogFull.load(ordering: .relaxed) }

    func run() async throws {
        let finished = AsyncStream<Void>.makeStream()
        let thread = Thread { [self] in
            self.loop()
            finished.continuation.finish()
        }
        thread.name = "beacon-stream-writer"
        thread.start()
        try? await gracefulShutdown()
        stopping.store(true, ordering: .releasing)
        for await _ in finished.stream {}
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    private func loop() {
        var backoff = Duration.milliseconds(50)
        while true {
            let stop = isStopping
            var batch = retryBatch
            retryBatch = []
            var events = batch.reduce(0) { $0 + $1.events.count }
            while events < settings.maxPipelineEvents, let request = queue.pop() {
                batch.append(request)
                events += request.events.count
            }
            metrics.bufferedEvents.record(queue.count)
            if batch.isEmpty {
                if stop { return }
                queue.waitForElements(timeout: .seconds(1))
                if queue.count == 0 { heartbeat() }
                continue
            }
            do {
                try write(batch)
                backoff = .milliseconds(50)
            } catch {
                connection = nil
                readiness.markNotReady("redis", reason: "\(error)")
                metrics.redisUp.record(0)
                logger.warning("redis write failed; retrying", metadata: ["error": "\(error)", "events": "\(events)"])
                retryBatch = failExpired(batch)
                if stop && retryBatch.isEmpty && queue.count == 0 { return }
                Thread.sleep(forTimeInterval: Double(backoff.components.seconds) + Double(backoff.components.attoseconds) / 1e18)
                backoff = min(backoff * 2, .seconds(2))
            }
        }
    }

    private func connectedRedis() throws(RedisError) -> RedisConnection {
        if let connection { return connection }
        let fresh = try RedisConnection(url: settings.redisURL, timeout: settings.connectTimeout)
        connection = fresh
        readiness.markReady("redis")
        metrics.redisUp.record(1)
        logger.info("connected to redis", metadata: ["redis": "\(settings.redisURL)"])
        return fresh
    }

    private func write(_ batch: [WriteRequest]) throws(RedisError) {
        let redis = try connectedRedis()
        let started = ContinuousClock.now
        let stream = Array(settings.stream.utf8)
        let xadd = Array("XADD".utf8), star = Array("*".utf8), field = Array(StreamEntry.eventField.utf8)
        for request in batch {
            for event in request.events {
                try redis.append([xadd, stream, star, field, event])
            }
        }
        try redis.append(["XLEN", settings.stream])
        var outcomes: [WriteRequest.Outcome] = []
        outcomes.reserveCapacity(batch.count)
        for request in batch {
            var outcome = WriteRequest.Outcome.stored
            for _ in request.events {
                if case .error(let message) = try redis.readReply() { outcome = .unavailable(message) }
            }
            outcomes.append(outcome)
        }
        let length = try redis.readReply().integer ?? 0
        metrics.writeDuration.recordElapsed(since: started)
        updateBacklog(length)
        for (request, outcome) in zip(batch, outcomes) {
            if case .unavailable(let message) = outcome {
                logger.error("redis refused events", metadata: ["error": "\(message)"])
            }
            answer(request, outcome)
        }
    }

    private func answer(_ request: WriteRequest, _ outcome: WriteRequest.Outcome) {
        queue.release(weight: request.events.count)
        request.finish(outcome)
    }

    /// Keeps readiness and the backlog gauge true while no events arrive.
    private func heartbeat() {
        do {
            let redis = try connectedRedis()
            let length = try redis.command(["XLEN", settings.stream]).checked().integer ?? 0
            updateBacklog(length)
        } catch {
            connection = nil
            readiness.markNotReady("redis", reason: "\(error)")
            metrics.redisUp.record(0)
        }
    }

    private func updateBacklog(_ length: Int64) {
        metrics.streamLength.record(length)
        let full = length >= settings.maxStreamLength
        if backlogFull.exchange(full, ordering: .relaxed) != full {
            if full {
                readiness.markNotReady("backlog", reason: "stream \(settings.stream) holds \(length) events (limit \(settings.maxStreamLength))")
                logger.warning("stream backlog at its limit; refusing new events", metadata: ["length": "\(length)"])
            } else {
                readiness.markReady("backlog")
            }
        }
    }

    /// Answers 503 to requests whose client has waited long enough; keeps the rest for the next attempt.
    private func failExpired(_ batch: [WriteRequest]) -> [WriteRequest] {
        let now = ContinuousClock.now
        var kept: [WriteRequest] = []
        for request in batch {
            if request.deadline <= now || isStopping {
                answer(request, .unavailable("redis unavailable"))
            } else {
                kept.append(request)
            }
        }
        return kept
    }
}
