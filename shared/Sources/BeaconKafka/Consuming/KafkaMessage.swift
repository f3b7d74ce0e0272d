/// One message read by a `KafkaConsumer`, copied out of librdkafka's buffers.
public struct KafkaMessage: Sendable {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
    /// nil when the message has no key.
    public let key: [UInt8]?
    /// Empty for an empty value and for a tombstone (null value).
    public let value: [UInt8]
    /// Milliseconds since the epoch (create or log-append time, as the topic
    /// is configured); nil when the broker did not give one.
    public let timestampMs: Int64?

    public init(topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8], timestampMs: Int64?) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.timestampMs = timestampMs
    }
}

/// One partition of one topic.
public struct KafkaPartition: Hashable, Sendable, CustomStringConvertible {
    public let topic: String
    public let partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }
}

/// A change of the partitions a consumer reads, as its group decided it.
/// Reported on the thread that polls, before any message of a newly
/// assigned partition and after the last of a revoked one.
public enum AssignmentChange: Sendable, Equatable {
    case assigned([KafkaPartition])
    case revoked([KafkaPartition])
}
