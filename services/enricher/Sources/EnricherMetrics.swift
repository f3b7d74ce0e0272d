import Metrics

/// The enricher's metrics, created once.
final class EnricherMetrics: Sendable {
    let enriched = Counter(label: "beacon_enricher_events_enriched_total")
    let invalid = Counter(label: "beacon_enricher_events_invalid_total")
    let acknowledged = Counter(label: "beacon_enricher_entries_acknowledged_total")
    let claimed = Counter(label: "beacon_enricher_entries_claimed_total")
    let deliveryErrors = Counter(label: "beacon_enricher_kafka_delivery_errors_total")
    let producerReplaced = Counter(label: "beacon_enricher_kafka_producer_replaced_total")
    let inFlight = Gauge(label: "beacon_enricher_in_flight_events")
    let kafkaUp = Gauge(label: "beacon_enricher_kafka_up")
    let batchDuration = Timer(label: "beacon_enricher_batch_duration_seconds")
}
