import BeaconCore
import Metrics

/// The tracker's metrics, created once: the hot path only increments.
final class TrackerMetrics: Sendable {
    enum Rejection: String, CaseIterable, Sendable {
        case invalidJSON = "invalid_json"
        case invalidBody = "invalid_body"
        case unsupportedMediaType = "unsupported_media_type"
        case tooLarge = "too_large"
        case unauthorized = "unauthorized"
        case originNotAllowed = "origin_not_allowed"
        case unavailable = "unavailable"
        case rateLimited = "rate_limited"
        case invalidEvent = "invalid_event"
    }

    private let accepted: [String: Counter]
    private let rejected: [Rejection: Counter]
    let requests = Counter(label: "beacon_tracker_requests_total")
    /// Requests an SDK says it sent before (X-Retry-Count > 0): retries
    /// rising is the first sign that clients are not getting 2xx.
    let retriedRequests = Counter(label: "beacon_tracker_retried_requests_total")
    let bufferedEvents = Gauge(label: "beacon_tracker_buffered_events")
    let streamLength = Gauge(label: "beacon_tracker_stream_length")
    let redisUp = Gauge(label: "beacon_tracker_redis_up")
    let writeDuration = Timer(label: "beacon_tracker_redis_write_duration_seconds")

    // UDP intake: each datagram's outcome, the events a batch datagram lost
    // on the way, and the kernel's drops for the socket (-1: not known here),
    // so that loss under overload is never silent.
    private let udpDatagrams = Dictionary(uniqueKeysWithValues: DatagramOutcome.allCases.map {
        ($0, Counter(label: "beacon_tracker_udp_datagrams_total", dimensions: [("outcome", $0.rawValue)]))
    })
    let udpInvalidEvents = Counter(label: "beacon_tracker_udp_invalid_events_total")
    let udpSocketDrops = Gauge(label: "beacon_tracker_udp_socket_drops")

    func datagram(_ outcome: DatagramOutcome, count: Int = 1) {
        udpDatagrams[outcome]?.increment(by: count)
    }

    /// Why events met a rate limit: refused (the app's bucket), or sent to
    /// the overflow stream (a user's bucket).
    enum RateLimitOutcome: String, CaseIterable, Sendable {
        case appLimit = "app_limit"
        case userOverflow = "user_overflow"
    }

    private let rateLimited: [String: [RateLimitOutcome: Counter]]

    func rateLimited(app: String, reason: RateLimitOutcome, count: Int) {
        rateLimited[app]?[reason]?.increment(by: count)
    }

    init(apps: [String]) {
        rateLimited = Dictionary(uniqueKeysWithValues: apps.map { app in
            (app, Dictionary(uniqueKeysWithValues: RateLimitOutcome.allCases.map {
                ($0, Counter(label: "beacon_tracker_rate_limited_events_total", dimensions: [("app", app), ("reason", $0.rawValue)]))
            }))
        })
        var accepted: [String: Counter] = [:]
        for app in apps {
            accepted[app] = Counter(label: "beacon_tracker_events_accepted_total", dimensions: [("app", app)])
        }
        self.accepted = accepted
        self.rejected = Dictionary(uniqueKeysWithValues: Rejection.allCases.map {
            ($0, Counter(label: "beacon_tracker_requests_rejected_total", dimensions: [("reason", $0.rawValue)]))
        })
    }

    func accepted(app: String, count: Int) {
        accepted[app]?.increment(by: count)
    }

    func rejected(_ reason: Rejection, count: Int = 1) {
        rejected[reason]?.increment(by: count)
    }

    // MARK: Mail registration (low volume: counters made as outcomes occur)

    /// `endpoint`: register, defer, stop, key; `outcome`: accepted or the error code.
    func mailRequest(endpoint: String, outcome: String) {
        Counter(label: "beacon_tracker_mail_requests_total", dimensions: [("endpoint", endpoint), ("outcome", outcome)]).increment()
    }

    // MARK: Postback jobs (low volume, as mail)

    /// `outcome`: accepted or the error code.
    func postbackRequest(outcome: String) {
        Counter(label: "beacon_tracker_postback_requests_total", dimensions: [("outcome", outcome)]).increment()
    }

    /// Data objects of accepted jobs: the webhook requests they became.
    func postbackObjects(app: String, count: Int) {
        Counter(label: "beacon_tracker_postback_objects_accepted_total", dimensions: [("app", app)]).increment(by: count)
    }

    // MARK: Connections (slow and idle clients)

    let openConnections = Meter(label: "beacon_tracker_open_connections")
    let refusedConnections = Counter(label: "beacon_tracker_connections_refused_total")
    private let timedOutConnections = Dictionary(uniqueKeysWithValues: ConnectionTimeouts.Kind.allCases.map {
        ($0, Counter(label: "beacon_tracker_connections_closed_total", dimensions: [("reason", $0.rawValue)]))
    })
}

extension TrackerMetrics: ConnectionObserver {
    func connectionOpened() { openConnections.increment() }
    func connectionClosed() { openConnections.decrement() }
    func connectionRefused() { refusedConnections.increment() }
    func connectionTimedOut(_ kind: ConnectionTimeouts.Kind) { timedOutConnections[kind]?.increment() }
}
