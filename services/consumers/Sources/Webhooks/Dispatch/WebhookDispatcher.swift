import BeaconCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The delivery worker's loop: claims due requests from the retry schedule,
/// starts each call when its host has a free slot, a token and a closed (or
/// probing) breaker, and writes what the calls came to back to the schedule
/// (delivered, rescheduled, or failed for good to the failed topic) and to
/// the delivery log, a batch at a time.
///
/// Claimed requests wait in memory only briefly (a host's queue holds at most
/// twice its concurrency, or a quarter of maxInFlight) and stay in Redis meanwhile, leased: a worker that
/// dies gives them back when the lease runs out. A host whose breaker is
/// open, or that asked to wait (429), gets its requests put back in the
/// schedule for then: nothing is dropped and nothing piles up in memory.
final class WebhookDispatcher: Service, Sendable {
    struct Settings: Sendable {
        var maxInFlight: Int
        var lease: Duration
        var hosts: HostLimits
        var retry: WebhookRetryPolicy
        var pollInterval: Duration = .milliseconds(100)
        var drainTimeout: Duration
    }

    /// A call that finished, as its task hands it back to the loop.
    private struct Finished: Sendable {
        enum Verdict: Sendable {
            case success, failure, neutral
        }

        let host: String
        let change: RetrySchedule.Change
        let attempt: WebhookAttempt
        let verdict: Verdict
        /// The host asked to be left alone this long (429 with Retry-After).
        let pause: Duration?
    }

    private let schedule: RetrySchedule
    private let delivery: WebhookDelivery
    private let failed: FailedWebhookWriter
    private let log: (any AttemptRecording)?
    private let attempts: AttemptPublisher?
    private let settings: Settings
    private let readiness: Readiness?
    private let logger: Logger
    private let metrics = WebhookMetrics()
    private let wakeup = Wakeup()
    private let finished = Mutex<[Finished]>([])
    private let stopping = Atomic<Bool>(false)
    private let logWriting = Atomic<Bool>(false)
    private let clock = MonotonicSeconds()

    init(
        schedule: RetrySchedule, delivery: WebhookDelivery, failed: FailedWebhookWriter, log: (any AttemptRecording)?,
        attempts: AttemptPublisher?, settings: Settings, readiness: Readiness?, logger: Logger
    ) {
        self.attempts = attempts
        self.schedule = schedule
        self.delivery = delivery
        self.failed = failed
        self.log = log
        self.settings = settings
        self.readiness = readiness
        self.logger = logger.with("consumer", "webhooks")
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            await self.loop()
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .releasing)
            self.wakeup.signal()
        }
    }

    // MARK: the loop

    private func loop() async {
        var hosts: [String: HostState] = [:]
        var held = 0, inFlight = 0
        var changes: [RetrySchedule.Change] = []
        var attempts: [WebhookAttempt] = []
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
        var nextBacklog = 0.0
        var drainDeadline: Double?
        await withDiscardingTaskGroup { group in
            while true {
                let now = clock.now, nowMs = RetrySchedule.nowMs()
                let stopping = self.stopping.load(ordering: .acquiring)

                for done in finished.withLock({ list in defer { list = [] }; return list }) {
                    inFlight -= 1
                    held -= 1
                    var state = hosts[done.host] ?? HostState(limits: settings.hosts, now: now)
                    state.active -= 1
                    switch done.verdict {
                    case .success:
                        if state.breaker.state != .closed { logger.info("webhook host recovered; breaker closed", metadata: ["host": "\(done.host)"]) }
                        state.breaker.succeeded()
                    case .failure:
                        if state.breaker.failed(now: now) {
                            logger.warning("webhook host failing; breaker open", metadata: [
                                "host": "\(done.host)", "probeInSeconds": "\(Int(state.breaker.openUntil - now))",
                            ])
                        }
                    case .neutral: break
                    }
                    if let pause = done.pause { state.pausedUntil = max(state.pausedUntil, now + pause.inSeconds) }
                    metrics.breaker(host: done.host, state: state.breaker.state)
                    hosts[done.host] = state
                    changes.append(done.change)
                    attempts.append(done.attempt)
                }

                var claimedFull = false
                if !stopping, held < settings.maxInFlight {
                    // Claim no more than the hosts can start soon: what a busy
                    // host cannot take goes back to Redis, and each put-back costs
                    // a round trip (a bench run spent its time doing that).
                    let count = min(settings.maxInFlight - held, 500, settings.hosts.concurrency * 4)
                    do {
                        let schedule = self.schedule, lease = settings.lease
                        let claimed = try await BlockingWork.run { try schedule.claim(now: nowMs, lease: lease, count: count) }
                        backoff.reset()
                        claimedFull = claimed.count == count
                        for item in claimed {
                            switch item.webhook {
                            case .failure(let error):
                                metrics.unreadable.increment()
                                logger.error("unreadable webhook in the schedule; dropped", metadata: ["id": "\(item.id)", "error": "\(error)"])
                                changes.append(.drop(id: item.id))
                            case .success(let webhook):
                                let host = Self.hostKey(webhook.request)
                                var state = hosts[host] ?? HostState(limits: settings.hosts, now: now)
                                if let until = Self.closedUntil(state, now: now) {
                                    changes.append(.reschedule(webhook, at: nowMs + Int64((until - now) * 1000) + Int64.random(in: 0...250)))
                                    metrics.deferred(host: host, reason: state.pausedUntil > now ? "host_paused" : "breaker_open")
                                } else if state.waitingCount >= max(settings.hosts.concurrency * 2, settings.maxInFlight / 4) {
                                    changes.append(.reschedule(webhook, at: nowMs + 1_000 + Int64.random(in: 0...500)))
                                    metrics.deferred(host: host, reason: "host_busy")
                                } else {
                                    state.waiting.append(webhook)
                                    held += 1
                                }
                                hosts[host] = state
                            }
                        }
                    } catch {
                        logger.warning("claiming due webhooks failed; retrying", metadata: ["error": "\(error)"])
                        readiness?.markNotReady("webhook schedule", reason: "\(error)")
                        await wakeup.wait(upTo: backoff.next())
                        continue
                    }
                    readiness?.markReady("webhook schedule")
                }

                var nextStart: Double?
                for host in Array(hosts.keys) {
                    guard var state = hosts[host], state.waitingCount > 0 else { continue }
                    if stopping {
                        // Given back at once, for another worker to take.
                        for webhook in state.drainWaiting() {
                            changes.append(.reschedule(webhook, at: nowMs))
                            held -= 1
                            metrics.deferred(host: host, reason: "shutdown")
                        }
                        hosts[host] = state
                        continue
                    }
                    while state.active < settings.hosts.concurrency, state.waitingCount > 0 {
                        if let until = Self.closedUntil(state, now: now) {
                            for webhook in state.drainWaiting() {
                                changes.append(.reschedule(webhook, at: nowMs + Int64((until - now) * 1000) + Int64.random(in: 0...250)))
                                held -= 1
                                metrics.deferred(host: host, reason: "breaker_open")
                            }
                            break
                        }
                        if state.breaker.admit(now: now) != nil { break }  // a probe is out: its verdict first
                        if var bucket = state.bucket {
                            let wait = bucket.take(1, now: now)
                            state.bucket = bucket
                            if let wait {
                                nextStart = min(nextStart ?? .infinity, now + wait)
                                break
                            }
                        }
                        guard let webhook = state.popWaiting() else { break }
                        state.active += 1
                        inFlight += 1
                        group.addTask { await self.deliver(webhook, host: host) }
                    }
                    hosts[host] = state
                }
                metrics.inFlight.record(Double(inFlight))

                if !changes.isEmpty {
                    let batch = changes, schedule = self.schedule
                    do {
                        try await BlockingWork.run { try schedule.apply(batch) }
                        changes = []
                    } catch {
                        // Kept and tried again: the leases keep the requests meanwhile.
                        logger.warning("writing webhook outcomes to the schedule failed; retrying", metadata: ["error": "\(error)"])
                    }
                }
                if !attempts.isEmpty, log != nil || self.attempts != nil, !logWriting.exchange(true, ordering: .acquiringAndReleasing) {
                    let batch = attempts
                    attempts = []
                    group.addTask { await self.write(batch) }
                } else if log == nil && self.attempts == nil {
                    attempts = []
                } else if attempts.count > 10_000 {
                    metrics.logFailures.increment(by: attempts.count - 5_000)
                    attempts.removeFirst(attempts.count - 5_000)
                }
                if now >= nextBacklog {
                    nextBacklog = now + 5
                    let schedule = self.schedule
                    if let (count, due) = try? await BlockingWork.run({ (try schedule.backlog(), try schedule.dueCount(now: nowMs)) }) {
                        metrics.backlog(count, due: due)
                        readiness?.setDetail("webhookBacklog", count)
                        readiness?.setDetail("webhooksDue", due)
                    }
                    hosts = hosts.filter { !$0.value.isIdle || $0.value.pausedUntil > now || !($0.value.bucket?.isFull(now: now) ?? true) }
                }

                if stopping {
                    let deadline = drainDeadline ?? now + settings.drainTimeout.inSeconds
                    drainDeadline = deadline
                    if inFlight == 0 && changes.isEmpty { break }
                    if now >= deadline {
                        // Their leases give them back to the next worker.
                        logger.warning("webhook calls still in flight at the drain deadline", metadata: ["inFlight": "\(inFlight)"])
                        group.cancelAll()
                        break
                    }
                }
                if claimedFull && held < settings.maxInFlight { continue }
                let wait = nextStart.map { max(0.001, $0 - now) } ?? settings.pollInterval.inSeconds
                await wakeup.wait(upTo: .milliseconds(Int64(min(wait, settings.pollInterval.inSeconds) * 1000)))
            }
        }
        logger.info("webhook dispatcher stopped")
    }

    /// Until when (monotonic seconds) the host takes no call, or nil.
    private static func closedUntil(_ state: HostState, now: Double) -> Double? {
        if state.pausedUntil > now { return state.pausedUntil }
        if state.breaker.state == .open, state.breaker.openUntil > now { return state.breaker.openUntil }
        return nil
    }

    static func hostKey(_ request: WebhookRequest) -> String {
        guard let target = WebhookDelivery.target(of: request.url) else { return "invalid" }
        return "\(target.host.lowercased()):\(target.port)"
    }

    /// The log and the live view's topic; both best effort.
    private func write(_ batch: [WebhookAttempt]) async {
        defer { logWriting.store(false, ordering: .releasing) }
        do {
            try await self.attempts?.publish(batch)
        } catch {
            logger.debug("publishing webhook attempts failed", metadata: ["error": "\(error)"])
        }
        guard let log else { return }
        do {
            try await BlockingWork.run { try log.record(batch) }
        } catch {
            metrics.logFailures.increment(by: batch.count)
            logger.warning("writing the webhook delivery log failed; these attempts are not logged",
                           metadata: ["error": "\(error)", "attempts": "\(batch.count)"])
        }
    }

    // MARK: one call

    private func deliver(_ scheduled: ScheduledWebhook, host: String) async {
        var webhook = scheduled
        let at = Date(), atMs = Int64(at.timeIntervalSince1970 * 1000)
        let number = webhook.attempts.count + 1
        let firstAt = webhook.firstAttemptAt ?? atMs
        webhook.firstAttemptAt = firstAt
        let request = webhook.request
        let call = await delivery.call(request, attemptAt: at)
        let app = request.app

        var status: Int?, body: String?, error: String?, retryAfter: Duration?
        var verdict = Finished.Verdict.failure
        var permanent = false, pause: Duration?
        switch call.result {
        case .answered(let code, let text, let after):
            status = code
            body = text
            if (200..<300).contains(code) {
                verdict = .success
            } else {
                error = (300..<400).contains(code) ? "answered \(code) (redirects are not followed)" : "answered \(code)"
                permanent = settings.retry.isPermanent(status: code)
                if code == 429 {
                    // The partner is up and says when: not a breaker failure, but the whole host waits.
                    verdict = .neutral
                    retryAfter = after
                    pause = after ?? .seconds(1)
                } else if code == 503 {
                    retryAfter = after
                } else if code < 500 {
                    verdict = .neutral
                }
            }
        case .unreachable(let message):
            error = message
        case .refused(let message):
            error = message
            permanent = true
            verdict = .neutral
        }
        webhook.attempts.append(.init(number: number, at: atMs, status: status, error: error, latencyMs: call.latencyMs))
        if let latency = call.latencyMs { metrics.latency(app: app, host: host, milliseconds: latency) }

        var change = RetrySchedule.Change.done(id: request.id)
        var outcome = WebhookAttempt.Outcome.delivered
        var nextAttemptAt: Date?
        if verdict == .success {
            metrics.delivered(app: app, host: host)
        } else {
            var giveUp: String? = permanent ? "permanent failure: \(error ?? "")" : nil
            if giveUp == nil {
                let sinceFirst = Duration.milliseconds(atMs - firstAt)
                switch settings.retry.decide(attempts: number, sinceFirst: sinceFirst, requested: retryAfter) {
                case .retry(let delay):
                    let due = atMs + delay.wholeMilliseconds
                    change = .reschedule(webhook, at: due)
                    outcome = .retrying
                    nextAttemptAt = Date(timeIntervalSince1970: Double(due) / 1000)
                    metrics.retried(app: app, host: host)
                case .giveUp(let reason):
                    giveUp = reason
                }
            }
            if let giveUp {
                outcome = .failed
                do {
                    try await failed.park(webhook, reason: giveUp)
                    change = .drop(id: request.id)
                    metrics.failed(app: app, host: host, reason: permanent ? "permanent" : "exhausted")
                    logger.warning("webhook failed for good; in the failed topic", metadata: [
                        "id": "\(request.id)", "host": "\(host)", "attempts": "\(number)", "reason": "\(giveUp)",
                    ])
                } catch {
                    // Not parked: it stays in the schedule and is tried once more later.
                    logger.error("parking a failed webhook failed; kept in the schedule", metadata: ["id": "\(request.id)", "error": "\(error)"])
                    change = .reschedule(webhook, at: atMs + 5_000)
                    outcome = .retrying
                    nextAttemptAt = Date(timeIntervalSince1970: Double(atMs + 5_000) / 1000)
                }
            }
        }
        let sourceName: String = switch request.source {
        case .rule(let name, _): name
        case .postback(let jobId, _): jobId
        }
        let attempt = WebhookAttempt(
            requestId: request.id, app: app, source: request.source.kind, sourceName: sourceName, method: request.method,
            url: WebhookAttempt.redacted(request.url), host: host, attempt: number, outcome: outcome, status: status,
            latencyMs: call.latencyMs, responseBody: body, error: error, at: at, nextAttemptAt: nextAttemptAt)
        finished.withLock { $0.append(Finished(host: host, change: change, attempt: attempt, verdict: verdict, pause: pause)) }
        wakeup.signal()
    }
}
