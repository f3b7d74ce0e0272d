import Metrics
import Synchronization

/// The pinger's metrics. Session states are counted as they change, so
/// that an idle session costs the gauges nothing.
final class PingerMetrics: Sendable {
    /// Where a mailbox session is: what `beacon_pinger_sessions{state}` counts.
    enum SessionState: String, CaseIterable, Sendable {
        /// Resolving, connecting, TLS, logging in, examining.
        case connecting
        /// Waiting in IDLE for the server to announce mail.
        case idle
        /// Polling with STATUS (the server has no IDLE).
        case polling
        /// Waiting to reconnect after an error.
        case backoff
        /// Waiting for a free slot (`pinger.maxSessions`).
        case waiting
    }

    private let stateCounts = Mutex<[SessionState: Int]>([:])
    private let stateGauges: [SessionState: Gauge]
    let paused = Gauge(label: "beacon_pinger_sessions_paused")
    let loginsFailed = Counter(label: "beacon_pinger_logins_failed_total")
    let newMail = Counter(label: "beacon_pinger_new_mail_total")
    let reconnects = Counter(label: "beacon_pinger_reconnects_total")
    private let pausedCount = Mutex<Int>(0)
    private let counters = Mutex<[String: Counter]>([:])

    init() {
        var gauges: [SessionState: Gauge] = [:]
        for state in SessionState.allCases {
            let gauge = Gauge(label: "beacon_pinger_sessions", dimensions: [("state", state.rawValue)])
            gauge.record(0)
            gauges[state] = gauge
        }
        stateGauges = gauges
        paused.record(0)
    }

    /// A session moved from `old` (nil: it is new) to `new` (nil: it ended).
    func session(from old: SessionState?, to new: SessionState?) {
        guard old != new else { return }
        if let old { move(old, by: -1) }
        if let new { move(new, by: 1) }
    }

    private func move(_ state: SessionState, by delta: Int) {
        let now = stateCounts.withLock { counts in
            counts[state, default: 0] += delta
            return counts[state, default: 0]
        }
        stateGauges[state]?.record(now)
    }

    func sessions(in state: SessionState) -> Int { stateCounts.withLock { $0[state, default: 0] } }

    func pausedChanged(by delta: Int) {
        paused.record(pausedCount.withLock { count in
            count += delta
            return count
        })
    }

    /// `beacon_pinger_push_requests_total{kind}` (new_mail, reregister).
    func pushRequest(kind: String) { counter("beacon_pinger_push_requests_total", ("kind", kind)).increment() }
    /// `beacon_pinger_registrations_total{type}` (register, defer, stop, invalid).
    func registration(type: String) { counter("beacon_pinger_registrations_total", ("type", type)).increment() }
    /// `beacon_pinger_sessions_ended_total{reason}`.
    func sessionEnded(reason: String) { counter("beacon_pinger_sessions_ended_total", ("reason", reason)).increment() }

    private func counter(_ name: String, _ dimension: (String, String)) -> Counter {
        let key = name + "|" + dimension.1
        return counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: name, dimensions: [dimension])
            counters[key] = counter
            return counter
        }
    }
}
