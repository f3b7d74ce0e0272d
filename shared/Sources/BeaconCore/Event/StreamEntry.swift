/// The shape of one entry in the Redis Stream between tracker and enricher.
/// Each event travels as one JSON field, already carrying what the tracker
/// knows (messageId, receivedAt, app, writeKey, context.ip, userAgent).
///
/// An entry holds one event (`eventField`) or several (one `packedField`
/// each, in order): the tracker packs the events of many requests into one
/// entry, so that Redis takes one XADD for them, and the enricher
/// acknowledges the entry once Kafka confirmed every event in it. Packed
/// entries use a field name of their own so that an enricher from before
/// packing sees an entry without `eventField` (and parks it as invalid)
/// rather than taking its first event and dropping the rest.
public enum StreamEntry {
    public static let eventField = "e"
    public static let packedField = "p"
    public static let defaultStream = "beacon:events"
}
