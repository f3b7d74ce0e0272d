/// The outcome of one produced message, as librdkafka reported it.
public struct DeliveryReport: Sendable {
    /// The `token` passed to `produce`.
    public let token: UInt64
    public let topic: String
    /// The partition the message went to (-1 if it never got one).
    public let partition: Int32
    /// The message's offset in that partition (-1 / -1001 when unknown,
    /// e.g. with `acks=0` or on failure).
    public let offset: Int64
    /// nil when the broker acknowledged the message (per `acks`).
    public let error: KafkaError?

    public init(token: UInt64, topic: String, partition: Int32, offset: Int64, error: KafkaError?) {
        self.token = token
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.error = error
    }

    public var succeeded: Bool { error == nil }
}
