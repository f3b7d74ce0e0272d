import BeaconCore
import BeaconRedis
import Foundation
import Synchronization
import Logging

/// Drains the event queue into Redis Streams on a loop thread (events into
/// the events stream or its overflow stream, and requests that name a stream
/// of their own, such as mail registrations, into that one): many
/// requests' events go out as one pipeline, packed many to an entry (plus an
/// XLEN to watch the backlog), and each request is told its outcome once
/// Redis answered.
/// While Redis is down the writer keeps retrying, and requests that waited
/// past their deadline are answered 503 (the client retries; nothing that got
/// a 2xx is ever dropped).
final class StreamWriter: BlockingLoop {
    struct Settings: Sendable {
        var redisURL: RedisURL
        var stream: String
        /// Where events of users over their own rate go (drained by the enricher at a bounded pace).
        var overflowStream: String
        /// Backlog at which the tracker refuses new events (enricher or Kafka down).
        var maxStreamLength: Int
        var maxPipelineEvents: Int
        /// Main events packed into one stream entry at most (one request's are never split).
        var eventsPerEntry: Int
        var connectTimeout: Duration
    }

    let name = "stream-writer"
    let queue: EventQueue<WriteRequest>
    private let settings: Settings
    private let redis: RedisClient
    private let redisReady: ReadinessCondition
    private let backlogReady: ReadinessCondition
    private let metrics: TrackerMetrics
    private let logger: Logger
    private let backlogFull = Atomic<Bool>(false)

    init(settings: Settings, queue: EventQueue<WriteRequest>, context: ServiceContext, metrics: TrackerMetrics) {
        self.settings = settings
        self.queue = queue
        self.metrics = metrics
        self.logger = context.logger
        redis = RedisClient(url: settings.redisURL, timeout: settings.connectTimeout)
        redisReady = context.condition("redis", reason: "not connected yet")
        backlogReady = context.condition("backlog")
        backlogReady.ready()
    }

    /// Read by request handlers: refuse intake while the stream's backlog is at its bound.
    var isBacklogFull: Bool { backlogFull.load(ordering: .relaxed) }

    func wake() { queue.wakeConsumer() }

    func run(_ control: LoopControl) -> LoopOutcome {
        var retry: [WriteRequest] = []
        var backoff = Backoff(initial: .milliseconds(50), maximum: .seconds(2))
        while true {
            let stopping = control.isStopping
            // What waited through an outage goes first, a pipeline's worth at a time.
            var taken = 0, events = 0
            while taken < retry.count, events < settings.maxPipelineEvents {
                events += retry[taken].weight
                taken += 1
            }
            var batch = Array(retry[..<taken])
            retry.removeFirst(taken)
            while events < settings.maxPipelineEvents, let request = queue.pop() {
                batch.append(request)
                events += request.weight
            }
            metrics.bufferedEvents.record(queue.count)
            if batch.isEmpty {
                if stopping { return .finished }
                queue.waitForElements(timeout: .seconds(1))
                if queue.count == 0 { heartbeat() }
                continue
            }
            do {
                try write(batch)
                backoff.reset()
                // After an outage, the rest waits its turn, but no longer than its deadline.
                if !retry.isEmpty { retry = failExpired(retry, all: false) }
            } catch {
                batch += retry
                retry = []
                redisDown(error)
                logger.warning("redis write failed; retrying", metadata: ["error": "\(error)", "events": "\(events)"])
                // Once stopping, nobody waits longer: what Redis did not take is refused (503).
                if stopping {
                    _ = failExpired(batch, all: true)
                    let refused = refuseQueued()
                    return refused + batch.count == 0 ? .finished
                        : .leftUndone("\(batch.count + refused) request(s) answered 503: Redis unavailable at shutdown")
                }
                // Requests still queued wait on the same Redis: take them in,
                // so that each is answered by its own deadline, not the batch's.
                retry = batch
                waitBeforeRetry(&retry, backoff: &backoff, control)
            }
        }
    }

    private func write(_ batch: [WriteRequest]) throws(RedisError) {
        let started = ContinuousClock.now
        let (outcomes, length) = try redis.withConnection { redis throws(RedisError) in
            try pipeline(batch, on: redis)
        }
        markConnected()
        metrics.writeDuration.recordElapsed(since: started)
        updateBacklog(length)
        for (request, outcome) in zip(batch, outcomes) {
            if case .unavailable(let message) = outcome {
                logger.error("redis refused events", metadata: ["error": "\(message)"])
            }
            answer(request, outcome)
        }
    }

    /// One round trip, then the outcome per request. The main events of
    /// the batch's requests go packed, up to `eventsPerEntry` to an entry
    /// (a request's events are never split, so one larger than that is an
    /// entry of its own): one XADD for many events is what lets Redis keep
    /// up. Overflow events go one to an entry, as the enricher paces that
    /// stream by entries; a request's own stream (mail registrations,
    /// webhooks) gets an entry per event, keyed apart by the enricher. Then
    /// XLEN for the backlog.
    private func pipeline(_ batch: [WriteRequest], on redis: RedisConnection) throws(RedisError) -> ([WriteRequest.Outcome], Int64) {
        let stream = Array(settings.stream.utf8)
        let overflow = Array(settings.overflowStream.utf8)
        let xadd = Array("XADD".utf8), star = Array("*".utf8)
        let single = Array(StreamEntry.eventField.utf8), packed = Array(StreamEntry.packedField.utf8)
        // Per request: the reply of its packed entry, and its own replies (contiguous).
        var entryReply = [Int](repeating: -1, count: batch.count)
        var ownReplies = [Range<Int>](repeating: 0..<0, count: batch.count)
        var replies = 0
        var entry: [[UInt8]] = []
        var entryRequests: [Int] = []
        var entryEvents = 0
        func closeEntry() throws(RedisError) {
            guard entryEvents > 0 else { return }
            if entryEvents == 1 { entry[3] = single }  // one event: the plain shape
            try redis.append(entry)
            for index in entryRequests { entryReply[index] = replies }
            replies += 1
            entry.removeAll(keepingCapacity: true)
            entryRequests.removeAll(keepingCapacity: true)
            entryEvents = 0
        }
        for (index, request) in batch.enumerated() {
            let first = replies
            if let named = request.stream {
                let target = Array(named.utf8)
                for event in request.events.main + request.events.overflow {
                    try redis.append([xadd, target, star, single, event])
                    replies += 1
                }
                ownReplies[index] = first..<replies
                continue
            }
            for event in request.events.overflow {
                try redis.append([xadd, overflow, star, single, event])
                replies += 1
            }
            ownReplies[index] = first..<replies
            let events = request.events.main
            guard !events.isEmpty else { continue }
            if entryEvents > 0, entryEvents + events.count > settings.eventsPerEntry { try closeEntry() }
            if entryEvents == 0 { entry.append(contentsOf: [xadd, stream, star]) }
            for event in events {
                entry.append(packed)
                entry.append(event)
            }
            entryEvents += events.count
            entryRequests.append(index)
        }
        try closeEntry()
        try redis.append(["XLEN", settings.stream])
        var refused: [Int: String] = [:]
        for reply in 0..<replies {
            if case .error(let message) = try redis.readReply() { refused[reply] = message }
        }
        let length = try redis.readReply().integer ?? 0
        var outcomes: [WriteRequest.Outcome] = []
        outcomes.reserveCapacity(batch.count)
        for index in batch.indices {
            let mine = ownReplies[index].lazy.compactMap { refused[$0] }.first ?? (entryReply[index] >= 0 ? refused[entryReply[index]] : nil)
            outcomes.append(mine.map { .unavailable($0) } ?? .stored)
        }
        return (outcomes, length)
    }

    private func answer(_ request: WriteRequest, _ outcome: WriteRequest.Outcome) {
        queue.release(weight: request.weight)
        request.finish(outcome)
    }

    /// Waits the backoff before the next attempt. Requests queued behind
    /// the failed batch wait on the same Redis, so they are taken in too, and
    /// every 100 ms whatever passed its deadline is answered 503: each
    /// request is answered by its own deadline, not its batch's.
    private func waitBeforeRetry(_ retry: inout [WriteRequest], backoff: inout Backoff, _ control: LoopControl) {
        let until = ContinuousClock.now + backoff.next()
        repeat {
            while let request = queue.pop() { retry.append(request) }
            retry = failExpired(retry, all: false)
            let now = ContinuousClock.now
            guard now < until, !control.isStopping else { return }
            control.pause(min(.milliseconds(100), until - now))
        } while true
    }

    /// Keeps readiness and the backlog gauge true while no events arrive.
    private func heartbeat() {
        do {
            let length = try redis.command(["XLEN", settings.stream]).checked().integer ?? 0
            markConnected()
            updateBacklog(length)
        } catch {
            redisDown(error)
        }
    }

    private func markConnected() {
        guard !redisReady.isReady else { return }
        redisReady.ready()
        metrics.redisUp.record(1)
    }

    private func redisDown(_ error: RedisError) {
        redisReady.notReady("\(error)")
        metrics.redisUp.record(0)
    }

    private func updateBacklog(_ length: Int64) {
        metrics.streamLength.record(length)
        let full = length >= settings.maxStreamLength
        guard backlogFull.exchange(full, ordering: .relaxed) != full else { return }
        if full {
            backlogReady.notReady("stream \(settings.stream) holds \(length) events (limit \(settings.maxStreamLength))")
            logger.warning("stream backlog at its limit; refusing new events", metadata: ["length": "\(length)"])
        } else {
            backlogReady.ready()
        }
    }

    /// Answers 503 to requests whose client has waited long enough (`all`:
    /// to every one); keeps the rest for the next attempt.
    private func failExpired(_ batch: [WriteRequest], all: Bool) -> [WriteRequest] {
        let now = ContinuousClock.now
        var kept: [WriteRequest] = []
        for request in batch {
            if all || request.deadline <= now {
                answer(request, .unavailable("redis unavailable"))
            } else {
                kept.append(request)
            }
        }
        return kept
    }

    /// Answers 503 to everything still queued; returns how many.
    private func refuseQueued() -> Int {
        var count = 0
        while let request = queue.pop() {
            answer(request, .unavailable("the tracker is shutting down and Redis is unavailable"))
            count += 1
        }
        return count
    }
}
