import Metrics

/// The worker's metrics, per app and host where a partner is concerned.
struct WebhookMetrics: Sendable {
    func delivered(app: String, host: String) {
        Counter(label: "beacon_webhooks_delivered_total", dimensions: [("app", app), ("host", host)]).increment()
    }

    func retried(app: String, host: String) {
        Counter(label: "beacon_webhooks_retried_total", dimensions: [("app", app), ("host", host)]).increment()
    }

    /// `reason`: permanent, exhausted.
    func failed(app: String, host: String, reason: String) {
        Counter(label: "beacon_webhooks_failed_total", dimensions: [("app", app), ("host", host), ("reason", reason)]).increment()
    }

    /// Claimed but put back without a call: `reason` breaker_open, host_paused, host_busy, shutdown.
    func deferred(host: String, reason: String) {
        Counter(label: "beacon_webhooks_deferred_total", dimensions: [("host", host), ("reason", reason)]).increment()
    }

    func latency(app: String, host: String, milliseconds: Double) {
        Timer(label: "beacon_webhooks_latency_seconds", dimensions: [("app", app), ("host", host)])
            .recordNanoseconds(Int64(milliseconds * 1_000_000))
    }

    /// 0 closed, 1 half-open, 2 open.
    func breaker(host: String, state: CircuitBreaker.State) {
        let value: Double = switch state {
        case .closed: 0
        case .halfOpen: 1
        case .open: 2
        }
        Gauge(label: "beacon_webhooks_breaker_state", dimensions: [("host", host)]).record(value)
    }

    func backlog(_ count: Int, due: Int) {
        Gauge(label: "beacon_webhooks_scheduled").record(Double(count))
        Gauge(label: "beacon_webhooks_due").record(Double(due))
    }

    let inFlight = Gauge(label: "beacon_webhooks_in_flight")
    let enqueued = Counter(label: "beacon_webhooks_enqueued_total")
    let duplicates = Counter(label: "beacon_webhooks_duplicate_requests_total")
    let unreadable = Counter(label: "beacon_webhooks_unreadable_total")
    let logFailures = Counter(label: "beacon_webhooks_log_write_failures_total")
}
