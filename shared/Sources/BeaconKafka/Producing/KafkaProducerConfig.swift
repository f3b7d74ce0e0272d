/// Configuration of a `KafkaProducer`. Each field maps onto a librdkafka
/// property (named in its comment); `extra` is applied last and can set or
/// override any librdkafka property
/// (https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md).
public struct KafkaProducerConfig: Sendable {
    /// `bootstrap.servers`: comma-separated host:port list.
    public var brokers: String
    /// `client.id`.
    public var clientId: String
    /// `enable.idempotence`: no duplicates or reordering from the producer's
    /// own retries. Requires `acks = "all"`.
    public var idempotent: Bool
    /// `acks`: "all" (-1), "1" or "0".
    public var acks: String
    /// `compression.codec`: none, gzip, snappy, lz4, zstd.
    public var compression: String
    /// `linger.ms`: how long to wait to fill a batch.
    public var lingerMs: Int
    /// `batch.size`: maximum bytes of one message batch.
    public var batchBytes: Int
    /// `queue.buffering.max.messages`: messages waiting for delivery before
    /// `produce` fails with `isQueueFull`.
    public var queueMaxMessages: Int
    /// `queue.buffering.max.kbytes`: the same bound in KiB (librdkafka's
    /// default when nil: 1 GiB).
    public var queueMaxKBytes: Int?
    /// `message.timeout.ms`: how long librdkafka keeps trying to deliver one
    /// message before reporting `_MSG_TIMED_OUT` (librdkafka's default when
    /// nil: 300000).
    public var messageTimeoutMs: Int?
    /// `partitioner`: "murmur2_random" puts a key where the Java client would.
    public var partitioner: String
    /// Any other librdkafka property; applied last.
    public var extra: [String: String]
    /// Where librdkafka's log lines go.
    public var logHandler: KafkaLogHandler

    public init(
        brokers: String,
        clientId: String = "beacon",
        idempotent: Bool = true,
        acks: String = "all",
        compression: String = "lz4",
        lingerMs: Int = 5,
        batchBytes: Int = 1_000_000,
        queueMaxMessages: Int = 100_000,
        queueMaxKBytes: Int? = nil,
        messageTimeoutMs: Int? = nil,
        partitioner: String = "murmur2_random",
        extra: [String: String] = [:],
        logHandler: @escaping KafkaLogHandler = KafkaLog.errorsToStandardError
    ) {
        self.brokers = brokers
        self.clientId = clientId
        self.idempotent = idempotent
        self.acks = acks
        self.compression = compression
        self.lingerMs = lingerMs
        self.batchBytes = batchBytes
        self.queueMaxMessages = queueMaxMessages
        self.queueMaxKBytes = queueMaxKBytes
        self.messageTimeoutMs = messageTimeoutMs
        self.partitioner = partitioner
        self.extra = extra
        self.logHandler = logHandler
    }

    /// The librdkafka properties, in the order they are applied.
    public var properties: [(String, String)] {
        var list = kafkaBaseSettings + [
            ("bootstrap.servers", brokers),
            ("client.id", clientId),
            ("enable.idempotence", idempotent ? "true" : "false"),
            ("acks", acks),
            ("compression.codec", compression),
            ("linger.ms", String(lingerMs)),
            ("batch.size", String(batchBytes)),
            ("queue.buffering.max.messages", String(queueMaxMessages)),
            ("partitioner", partitioner),
        ]
        if let queueMaxKBytes { list.append(("queue.buffering.max.kbytes", String(queueMaxKBytes))) }
        if let messageTimeoutMs { list.append(("message.timeout.ms", String(messageTimeoutMs))) }
        return settingsList(list, extra: extra)
    }
}
