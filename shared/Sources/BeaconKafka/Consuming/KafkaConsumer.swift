import CRdKafka
import Synchronization

/// A librdkafka consumer (`rd_kafka_t` of type consumer), owned by this object:
/// `deinit` closes it if `close` was not called, then destroys it.
///
/// Two ways to get partitions:
/// - `subscribe`: join the consumer group `groupId`; the group decides who
///   reads which partition, and reading resumes after the committed offsets.
///   Joining (and every rebalance) takes about `session.timeout.ms / 2` on the
///   local Tansu broker: set `session.timeout.ms` low there (e.g. "6000").
/// - `assignAllPartitions`: read every partition of one topic from its
///   beginning or its end, without joining any group (nothing is committed).
///
/// Offsets (at-least-once): nothing is committed behind the application's back.
/// Either `commit` a message once it is processed (synchronous), or
/// `storeOffset` it and let the background auto-commit
/// (`auto.commit.interval.ms`, and `close`) commit what was stored.
///
/// Defaults, overridable through `extra`: `auto.offset.reset=earliest` (a new
/// group starts at the beginning), `enable.auto.offset.store=false`,
/// `enable.auto.commit=true` with a group id and false without one.
///
/// Thread safety: use `poll` from one thread at a time; `commit`,
/// `storeOffset` and the properties may be called from other threads.
/// `close` must not race with a `poll` in progress.
public final class KafkaConsumer: @unchecked Sendable {
    public enum StartOffset: Sendable {
        /// The oldest message still in the partition.
        case beginning
        /// Only messages produced from now on. On the local Tansu broker this
        /// may still deliver the tail of one old batch per partition: Tansu
        /// answers ListOffsets(latest) with the base offset of the last batch
        /// + 1 instead of the last offset + 1 (exact for single-message
        /// batches; real Kafka is exact).
        case end
    }

    /// The consumer group id; a generated, unique one when none was given.
    public let groupId: String
    let handle: OpaquePointer
    private let context: Unmanaged<KafkaClientContext>
    private let closed = Atomic<Bool>(false)

    /// - Parameters:
    ///   - groupId: the consumer group, needed for `subscribe` and meaningful
    ///     commits; nil for a consumer that only uses `assignAllPartitions`.
    ///   - extra: any librdkafka property, applied last.
    ///   - onAssignment: told of every change of this consumer's partitions,
    ///     on the polling thread (see `AssignmentChange`).
    public init(
        brokers: String,
        groupId: String?,
        extra: [String: String] = [:],
        logHandler: @escaping KafkaLogHandler = KafkaLog.errorsToStandardError,
        onAssignment: (@Sendable (AssignmentChange) -> Void)? = nil
    ) throws(KafkaError) {
        // librdkafka needs a group id for rd_kafka_assign and consumer_poll even
        // when no group is ever joined.
        let group = groupId ?? "beacon-anonymous-\(String(UInt64.random(in: .min ... .max), radix: 16))"
        self.groupId = group
        let settings = settingsList(kafkaBaseSettings + [
            ("bootstrap.servers", brokers),
            ("client.id", "beacon"),
            ("group.id", group),
            ("auto.offset.reset", "earliest"),
            ("enable.auto.offset.store", "false"),
            ("enable.auto.commit", groupId == nil ? "false" : "true"),
            // librdkafka waits up to 500 ms for a fetch to fill; a broker that
            // holds the fetch that long (Tansu does) delays every event by it.
            // Beacon's consumers are about latency: 50 ms, at the cost of a
            // few more empty fetches when a topic is idle.
            ("fetch.wait.max.ms", "50"),
        ], extra: extra)
        let context = KafkaClientContext(log: logHandler, onAssignment: onAssignment)
        (handle, self.context) = try makeKafkaClient(RD_KAFKA_CONSUMER, settings: settings, context: context) { conf in
            rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback)
        }
        // Serve errors and logs of the main queue through consumer_poll.
        _ = rd_kafka_poll_set_consumer(handle)
    }

    deinit {
        if !closed.load(ordering: .acquiring) {
            _ = rd_kafka_consumer_close(handle)
        }
        rd_kafka_destroy(handle)
        context.release()
    }

    /// The instance name librdkafka gave this client, e.g. `beacon#consumer-2`.
    public var name: String { String(cString: rd_kafka_name(handle)) }

    // MARK: - Partitions

    /// Joins the consumer group for `topics` (replacing any earlier
    /// subscription). Partitions arrive during later `poll` calls.
    public func subscribe(_ topics: [String]) throws(KafkaError) {
        try checkOpen()
        guard !topics.isEmpty else { throw KafkaError.invalidArgument("subscribe needs at least one topic") }
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics { rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA) }
        let result = rd_kafka_subscribe(handle, list)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(result, message: "subscribe to \(topics): \(String(cString: rd_kafka_err2str(result)))")
        }
    }

    /// Reads every partition of `topic`, from its beginning or from its end,
    /// without a group (replaces the current assignment). Throws
    /// `isUnknownTopic` for a topic the broker does not have.
    public func assignAllPartitions(of topic: String, from start: StartOffset, timeoutMs: Int32 = 10_000) throws(KafkaError) {
        try checkOpen()
        let metadata = try fetchMetadata(handle, topic: topic, timeoutMs: timeoutMs)
        guard let info = metadata.topic(topic) else {
            throw KafkaError(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, message: "no metadata for topic '\(topic)'")
        }
        if let error = info.error {
            throw KafkaError(code: error.code, message: "topic '\(topic)': \(error.message)")
        }
        guard !info.partitions.isEmpty else {
            throw KafkaError(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, message: "topic '\(topic)' has no partitions")
        }
        let list = rd_kafka_topic_partition_list_new(Int32(info.partitions.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let offset: Int64 = start == .beginning ? Int64(RD_KAFKA_OFFSET_BEGINNING) : Int64(RD_KAFKA_OFFSET_END)
        for partition in info.partitions {
            rd_kafka_topic_partition_list_add(list, topic, partition.id).pointee.offset = offset
        }
        let result = rd_kafka_assign(handle, list)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(result, message: "assign '\(topic)': \(String(cString: rd_kafka_err2str(result)))")
        }
        context.takeUnretainedValue().assigned(info.partitions.map { KafkaPartition(topic: topic, partition: $0.id) }, replacing: true)
    }

    /// The partitions this consumer reads now: what its group assigned it
    /// (empty until the first rebalance completes, and while it holds none),
    /// or what `assignAllPartitions` took.
    public var assignment: Set<KafkaPartition> {
        context.takeUnretainedValue().assignment.withLock { $0 }
    }

    /// `assignment.count`, without copying the set (cheap enough per message).
    public var assignedPartitionCount: Int {
        context.takeUnretainedValue().assignment.withLock { $0.count }
    }

    // MARK: - Reading

    /// The next message, or nil when `timeoutMs` passed without one (or a
    /// partition's end was reached, with `enable.partition.eof=true`).
    /// Throws what librdkafka reports: most such errors are informational
    /// (`_TRANSPORT`, `_ALL_BROKERS_DOWN`, `UNKNOWN_TOPIC_OR_PART`) and the
    /// caller may keep polling; on `isFatal` it must recreate the consumer.
    /// Also serves group joins, rebalances and log/error events.
    public func poll(timeoutMs: Int32) throws(KafkaError) -> KafkaMessage? {
        try checkOpen()
        guard let message = rd_kafka_consumer_poll(handle, timeoutMs) else { return nil }
        defer { rd_kafka_message_destroy(message) }
        let m = message.pointee
        let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) }

        guard m.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return nil }
            var text = rd_kafka_message_errstr(message).map { String(cString: $0) } ?? String(cString: rd_kafka_err2str(m.err))
            if let topic { text = "\(topic) [\(m.partition)]: \(text)" }
            throw KafkaError(m.err, message: text)
        }

        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        return KafkaMessage(
            topic: topic ?? "",
            partition: m.partition,
            offset: m.offset,
            key: m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) },
            value: m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? [],
            timestampMs: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE || timestamp < 0 ? nil : timestamp
        )
    }

    // MARK: - Offsets

    /// Commits `message.offset + 1` for its partition to the group and waits
    /// for the broker's answer: after a restart the group resumes after it.
    public func commit(_ message: KafkaMessage) throws(KafkaError) {
        try commit([message])
    }

    /// Commits, for each partition among `messages`, the highest offset + 1;
    /// one synchronous request.
    public func commit(_ messages: [KafkaMessage]) throws(KafkaError) {
        try checkOpen()
        guard let list = offsetList(messages) else { return }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let result = rd_kafka_commit(handle, list, 0)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(result, message: "commit: \(String(cString: rd_kafka_err2str(result)))")
        }
        try throwPartitionError(list, "commit")
    }

    /// Marks `message` as processed: the background auto-commit (and `close`)
    /// commits `offset + 1` later. Cheaper than `commit`; needs
    /// `enable.auto.commit=true` (the default with a group id).
    public func storeOffset(_ message: KafkaMessage) throws(KafkaError) {
        try checkOpen()
        guard let list = offsetList([message]) else { return }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let result = rd_kafka_offsets_store(handle, list)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(result, message: "store offset: \(String(cString: rd_kafka_err2str(result)))")
        }
        try throwPartitionError(list, "store offset")
    }

    /// The group's committed offset for one partition (the next offset to
    /// read), asked from the broker; nil when the group committed none.
    public func committedOffset(topic: String, partition: Int32, timeoutMs: Int32 = 5_000) throws(KafkaError) -> Int64? {
        try checkOpen()
        let list = rd_kafka_topic_partition_list_new(1)!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        rd_kafka_topic_partition_list_add(list, topic, partition)
        let result = rd_kafka_committed(handle, list, timeoutMs)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(result, message: "committed offsets: \(String(cString: rd_kafka_err2str(result)))")
        }
        try throwPartitionError(list, "committed offset")
        let offset = list.pointee.elems[0].offset
        return offset >= 0 ? offset : nil
    }

    private func offsetList(_ messages: [KafkaMessage]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t>? {
        var next: [String: [Int32: Int64]] = [:]
        for message in messages {
            next[message.topic, default: [:]][message.partition] = max(
                next[message.topic]?[message.partition] ?? Int64.min, message.offset + 1)
        }
        guard !next.isEmpty else { return nil }
        let list = rd_kafka_topic_partition_list_new(Int32(messages.count))!
        for (topic, partitions) in next {
            for (partition, offset) in partitions {
                rd_kafka_topic_partition_list_add(list, topic, partition).pointee.offset = offset
            }
        }
        return list
    }

    private func throwPartitionError(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>, _ what: String) throws(KafkaError) {
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            if element.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                let topic = element.topic.map { String(cString: $0) } ?? ""
                throw KafkaError(element.err, message: "\(what) \(topic) [\(element.partition)]: \(String(cString: rd_kafka_err2str(element.err)))")
            }
        }
    }

    // MARK: - State

    /// Leaves the group (after committing stored offsets) and stops fetching.
    /// Idempotent; `poll` throws `_STATE` afterwards.
    public func close() {
        guard closed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        _ = rd_kafka_consumer_close(handle)
    }

    /// The fatal error that made this consumer unusable, or nil.
    public var fatalError: KafkaError? { fatalErrorOf(handle) }

    /// Cluster metadata (`topic` nil: all topics), e.g. to list topics.
    public func metadata(topic: String? = nil, timeoutMs: Int32 = 5_000) throws(KafkaError) -> KafkaMetadata {
        try fetchMetadata(handle, topic: topic, timeoutMs: timeoutMs)
    }

    private func checkOpen() throws(KafkaError) {
        if closed.load(ordering: .acquiring) { throw KafkaError.state("the consumer is closed") }
    }
}

/// librdkafka's rebalance callback, called inside `poll`: applies the
/// group's decision (eagerly or incrementally, as the assignor wants) and
/// keeps the consumer's view of its partitions.
private let rebalanceCallback: @convention(c) (
    OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?
) -> Void = { rk, err, partitions, opaque in
    guard let rk else { return }
    let context = KafkaClientContext.from(opaque)
    let cooperative = rd_kafka_rebalance_protocol(rk).map { String(cString: $0) } == "COOPERATIVE"
    let list = partitions.map(partitionList) ?? []
    switch err {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        if cooperative {
            if let error = rd_kafka_incremental_assign(rk, partitions) { rd_kafka_error_destroy(error) }
        } else {
            _ = rd_kafka_assign(rk, partitions)
        }
        context?.assigned(list, replacing: !cooperative)
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        if cooperative {
            if let error = rd_kafka_incremental_unassign(rk, partitions) { rd_kafka_error_destroy(error) }
            context?.revoked(list)
        } else {
            _ = rd_kafka_assign(rk, nil)
            context?.revoked(nil)
        }
    default:
        // A failed rebalance: librdkafka asks for the assignment to be cleared.
        _ = rd_kafka_assign(rk, nil)
        context?.revoked(nil)
    }
}

private func partitionList(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [KafkaPartition] {
    (0..<Int(list.pointee.cnt)).map { index in
        let element = list.pointee.elems[index]
        return KafkaPartition(topic: element.topic.map { String(cString: $0) } ?? "", partition: element.partition)
    }
}
