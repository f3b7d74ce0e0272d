/// Where mail registrations travel: the tracker's Redis stream and the
/// Kafka topic the enricher forwards it to, read the same way by all three.
public enum MailTopics {
    public static let defaultStream = "beacon:mail"
    public static let defaultTopic = "beacon.mail.registrations"
    public static let stream = Setting<String>(
        "redis.mailStream", default: defaultStream, "the Redis stream of mail registrations (sealed), apart from events")
    public static let topic = Setting<String>(
        "kafka.mailTopic", default: defaultTopic, "the Kafka topic of mail registrations, keyed by registration id")
}
