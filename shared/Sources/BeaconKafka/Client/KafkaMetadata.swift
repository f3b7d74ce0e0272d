import CRdKafka

/// A snapshot of cluster metadata (`rd_kafka_metadata`).
public struct KafkaMetadata: Sendable {
    public struct Broker: Sendable {
        public let id: Int32
        public let host: String
        public let port: Int32
    }

    public struct Partition: Sendable {
        public let id: Int32
        /// Broker id of the leader, -1 if none.
        public let leader: Int32
        public let error: KafkaError?
    }

    public struct Topic: Sendable {
        public let name: String
        /// Sorted by partition id.
        public let partitions: [Partition]
        /// e.g. `UNKNOWN_TOPIC_OR_PART` for a topic that does not exist.
        public let error: KafkaError?
    }

    public let brokers: [Broker]
    public let topics: [Topic]

    public func topic(_ name: String) -> Topic? { topics.first { $0.name == name } }
}

/// Metadata for one topic (`topic` non-nil) or for all of them.
func fetchMetadata(_ handle: OpaquePointer, topic: String?, timeoutMs: Int32) throws(KafkaError) -> KafkaMetadata {
    var topicHandle: OpaquePointer?
    if let topic {
        topicHandle = rd_kafka_topic_new(handle, topic, nil)
        guard topicHandle != nil else {
            throw KafkaError(rd_kafka_last_error(), message: "cannot use topic name '\(topic)'")
        }
    }
    defer { if let topicHandle { rd_kafka_topic_destroy(topicHandle) } }

    var pointer: UnsafePointer<rd_kafka_metadata>?
    let result = rd_kafka_metadata(handle, topicHandle == nil ? 1 : 0, topicHandle, &pointer, timeoutMs)
    guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let pointer else {
        let text = String(cString: rd_kafka_err2str(result))
        throw KafkaError(result, message: "metadata request failed: \(text)")
    }
    defer { rd_kafka_metadata_destroy(pointer) }
    let raw = pointer.pointee

    let brokers = (0..<Int(raw.broker_cnt)).map { index in
        let b = raw.brokers[index]
        return KafkaMetadata.Broker(id: b.id, host: b.host.map { String(cString: $0) } ?? "", port: b.port)
    }
    let topics = (0..<Int(raw.topic_cnt)).map { index in
        let t = raw.topics[index]
        let partitions = (0..<Int(t.partition_cnt)).map { p in
            let part = t.partitions[p]
            return KafkaMetadata.Partition(id: part.id, leader: part.leader, error: metadataError(part.err))
        }.sorted { $0.id < $1.id }
        return KafkaMetadata.Topic(
            name: t.topic.map { String(cString: $0) } ?? "",
            partitions: partitions,
            error: metadataError(t.err)
        )
    }
    return KafkaMetadata(brokers: brokers, topics: topics)
}

private func metadataError(_ err: rd_kafka_resp_err_t) -> KafkaError? {
    err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError(err)
}
