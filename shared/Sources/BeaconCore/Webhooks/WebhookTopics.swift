/// Where webhook requests travel: the tracker's Redis stream of postbacks,
/// the Kafka topic the enricher forwards it to (and the rules write to), and
/// where a request goes after its last attempt. Read the same way by all.
public enum WebhookTopics {
    public static let defaultStream = "beacon:webhooks"
    public static let defaultTopic = "beacon.webhooks"
    public static let defaultFailedTopic = "beacon.webhooks.failed"
    public static let stream = Setting<String>(
        "redis.webhookStream", default: defaultStream, "the Redis stream of postback requests, apart from events")
    public static let topic = Setting<String>(
        "kafka.webhookTopic", default: defaultTopic, "the Kafka topic of webhook requests, keyed by request id")
    public static let failedTopic = Setting<String>(
        "kafka.webhookFailedTopic", default: defaultFailedTopic, "where a webhook request goes, with its attempts, after the last one")
}
