import Metrics

/// The enricher's metrics, created once. Kafka's (`beacon_enricher_kafka_*`:
/// delivery errors, producers replaced, up) are kept by its senders.
final class EnricherMetrics: Sendable {
    static let kafkaPrefix = "beacon_enricher_kafka"

    let enriched = Counter(label: "beacon_enricher_events_enriched_total")
    let invalid = Counter(label: "beacon_enricher_events_invalid_total")
    /// Verbatim streams (mail registrations): entries forwarded unchanged, and those sent to the invalid topic.
    let forwarded = Counter(label: "beacon_enricher_verbatim_forwarded_total")
    let forwardedInvalid = Counter(label: "beacon_enricher_verbatim_invalid_total")
    let acknowledged = Counter(label: "beacon_enricher_entries_acknowledged_total")
    let claimed = Counter(label: "beacon_enricher_entries_claimed_total")
    let inFlight = Gauge(label: "beacon_enricher_in_flight_events")
    let batchDuration = Timer(label: "beacon_enricher_batch_duration_seconds")
}
