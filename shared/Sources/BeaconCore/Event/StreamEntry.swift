/// The shape of one entry in the Redis Stream between tracker and enricher.
/// The event travels as one JSON field, already carrying what the tracker
/// knows (messageId, receivedAt, app, writeKey, context.ip, userAgent).
public enum StreamEntry {
    public static let eventField = "e"
    public static let defaultStream = "beacon:events"
}
