import CRdKafka

/// Topic administration through librdkafka's Admin API (CreateTopics /
/// DeleteTopics requests). Each call uses a short-lived client of its own.
public enum KafkaAdmin {
    /// Creates `topics`; a topic that already exists is not an error (its
    /// partition count is left as it is).
    /// - Parameters:
    ///   - replicationFactor: -1 takes the broker's default.
    ///   - timeoutMs: for the whole call, and the time the broker may take.
    public static func createTopics(
        brokers: String,
        topics: [(name: String, partitions: Int32)],
        replicationFactor: Int32 = -1,
        timeoutMs: Int32,
        extra: [String: String] = [:],
        logHandler: @escaping KafkaLogHandler = KafkaLog.errorsToStandardError
    ) throws(KafkaError) {
        guard !topics.isEmpty else { return }
        var newTopics: [OpaquePointer?] = []
        defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
        for topic in topics {
            var errstr = [CChar](repeating: 0, count: 512)
            guard let newTopic = rd_kafka_NewTopic_new(topic.name, topic.partitions, replicationFactor, &errstr, errstr.count) else {
                throw KafkaError(RD_KAFKA_RESP_ERR__INVALID_ARG, errstr: errstr)
            }
            newTopics.append(newTopic)
        }
        try withAdminClient(brokers: brokers, extra: extra, logHandler: logHandler) { (client, queue) throws(KafkaError) in
            let options = rd_kafka_AdminOptions_new(client, RD_KAFKA_ADMIN_OP_CREATETOPICS)
            defer { rd_kafka_AdminOptions_destroy(options) }
            try setTimeouts(options, timeoutMs)
            rd_kafka_CreateTopics(client, &newTopics, newTopics.count, options, queue)
            try awaitResult(queue, timeoutMs: timeoutMs, what: "create topics", ignoring: RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) { event in
                var count = 0
                let results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count)
                return (results, count)
            }
        }
    }

    /// Deletes `topics`; a topic that does not exist is not an error.
    public static func deleteTopics(
        brokers: String,
        topics: [String],
        timeoutMs: Int32,
        extra: [String: String] = [:],
        logHandler: @escaping KafkaLogHandler = KafkaLog.errorsToStandardError
    ) throws(KafkaError) {
        guard !topics.isEmpty else { return }
        var deleteTopics: [OpaquePointer?] = topics.map { rd_kafka_DeleteTopic_new($0) }
        defer { for topic in deleteTopics { rd_kafka_DeleteTopic_destroy(topic) } }
        try withAdminClient(brokers: brokers, extra: extra, logHandler: logHandler) { (client, queue) throws(KafkaError) in
            let options = rd_kafka_AdminOptions_new(client, RD_KAFKA_ADMIN_OP_DELETETOPICS)
            defer { rd_kafka_AdminOptions_destroy(options) }
            try setTimeouts(options, timeoutMs)
            rd_kafka_DeleteTopics(client, &deleteTopics, deleteTopics.count, options, queue)
            try awaitResult(queue, timeoutMs: timeoutMs, what: "delete topics", ignoring: RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) { event in
                var count = 0
                let results = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(event), &count)
                return (results, count)
            }
        }
    }

    /// Cluster metadata (`topic` nil: all topics), e.g. to list topics or to
    /// check that the broker answers.
    public static func metadata(
        brokers: String,
        topic: String? = nil,
        timeoutMs: Int32,
        extra: [String: String] = [:],
        logHandler: @escaping KafkaLogHandler = KafkaLog.errorsToStandardError
    ) throws(KafkaError) -> KafkaMetadata {
        try withAdminClient(brokers: brokers, extra: extra, logHandler: logHandler) { (client, _) throws(KafkaError) in
            try fetchMetadata(client, topic: topic, timeoutMs: timeoutMs)
        }
    }

    // MARK: - Plumbing

    private static func withAdminClient<T>(
        brokers: String,
        extra: [String: String],
        logHandler: @escaping KafkaLogHandler,
        _ body: (OpaquePointer, OpaquePointer) throws(KafkaError) -> T
    ) throws(KafkaError) -> T {
        let settings = settingsList(kafkaBaseSettings + [("bootstrap.servers", brokers), ("client.id", "beacon-admin")], extra: extra)
        let (client, context) = try makeKafkaClient(RD_KAFKA_PRODUCER, settings: settings, context: KafkaClientContext(log: logHandler))
        let queue = rd_kafka_queue_new(client)!
        defer {
            rd_kafka_queue_destroy(queue)
            rd_kafka_destroy(client)
            context.release()
        }
        return try body(client, queue)
    }

    private static func setTimeouts(_ options: OpaquePointer?, _ timeoutMs: Int32) throws(KafkaError) {
        var errstr = [CChar](repeating: 0, count: 512)
        var result = rd_kafka_AdminOptions_set_request_timeout(options, timeoutMs, &errstr, errstr.count)
        if result == RD_KAFKA_RESP_ERR_NO_ERROR {
            result = rd_kafka_AdminOptions_set_operation_timeout(options, timeoutMs, &errstr, errstr.count)
        }
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(result, errstr: errstr) }
    }

    /// Waits for the admin result event on `queue` and throws the request's
    /// error or the first per-topic error other than `ignored`.
    private static func awaitResult(
        _ queue: OpaquePointer,
        timeoutMs: Int32,
        what: String,
        ignoring ignored: rd_kafka_resp_err_t,
        topicResults: (OpaquePointer) -> (UnsafeMutablePointer<OpaquePointer?>?, Int)
    ) throws(KafkaError) {
        // The request itself times out after timeoutMs; leave it room to say so.
        guard let event = rd_kafka_queue_poll(queue, timeoutMs &+ 5_000) else {
            throw KafkaError(RD_KAFKA_RESP_ERR__TIMED_OUT, message: "\(what): no answer within \(timeoutMs) ms")
        }
        defer { rd_kafka_event_destroy(event) }
        let error = rd_kafka_event_error(event)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let text = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? String(cString: rd_kafka_err2str(error))
            throw KafkaError(error, message: "\(what): \(text)")
        }
        let (results, count) = topicResults(event)
        guard let results else { return }
        for index in 0..<count {
            let result = results[index]
            let code = rd_kafka_topic_result_error(result)
            guard code != RD_KAFKA_RESP_ERR_NO_ERROR, code != ignored else { continue }
            let name = rd_kafka_topic_result_name(result).map { String(cString: $0) } ?? "?"
            let text = rd_kafka_topic_result_error_string(result).map { String(cString: $0) } ?? String(cString: rd_kafka_err2str(code))
            throw KafkaError(code, message: "\(what): topic '\(name)': \(text)")
        }
    }
}
