import Metrics

final class LiveViewMetrics: Sendable {
    let sessions = Gauge(label: "beacon_liveview_sessions")
    let framesSent = Counter(label: "beacon_liveview_frames_sent_total")
    let framesDropped = Counter(label: "beacon_liveview_frames_dropped_total")
    let unauthorized = Counter(label: "beacon_liveview_unauthorized_total")
}
