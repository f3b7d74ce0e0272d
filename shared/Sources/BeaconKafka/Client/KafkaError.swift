import BeaconCore
import CRdKafka

/// An error reported by librdkafka, or by this wrapper in librdkafka's terms.
///
/// `code` is librdkafka's `rd_kafka_resp_err_t` (negative codes are local to the
/// client, positive ones come from the broker), `name` its symbolic name from
/// `rd_kafka_err2name` (e.g. `_QUEUE_FULL`, `_MSG_TIMED_OUT`,
/// `UNKNOWN_PRODUCER_ID`) and `message` librdkafka's human-readable text (the
/// `errstr` of the call when there is one, otherwise `rd_kafka_err2str`).
public struct KafkaError: Error, CustomStringConvertible, Sendable, Equatable {
    public let code: Int32
    public let name: String
    public let message: String
    /// The client instance cannot be used any more (`rd_kafka_fatal_error`):
    /// destroy it and create a new one.
    public let isFatal: Bool
    /// The operation may be retried as is.
    public let isRetriable: Bool

    public init(code: Int32, message: String? = nil, isFatal: Bool = false, isRetriable: Bool = false) {
        let err = rd_kafka_resp_err_t(rawValue: code)
        self.code = code
        self.name = String(cString: rd_kafka_err2name(err))
        self.message = message ?? String(cString: rd_kafka_err2str(err))
        self.isFatal = isFatal || code == RD_KAFKA_RESP_ERR__FATAL.rawValue
        self.isRetriable = isRetriable
    }

    init(_ err: rd_kafka_resp_err_t, message: String? = nil, isFatal: Bool = false, isRetriable: Bool = false) {
        self.init(code: err.rawValue, message: message, isFatal: isFatal, isRetriable: isRetriable)
    }

    /// Takes over (and destroys) an `rd_kafka_error_t`.
    init(consuming error: OpaquePointer) {
        defer { rd_kafka_error_destroy(error) }
        self.init(
            code: rd_kafka_error_code(error).rawValue,
            message: rd_kafka_error_string(error).map { String(cString: $0) },
            isFatal: rd_kafka_error_is_fatal(error) != 0,
            isRetriable: rd_kafka_error_is_retriable(error) != 0
        )
    }

    /// An error with an `errstr` buffer filled by librdkafka.
    init(_ err: rd_kafka_resp_err_t, errstr: [CChar]) {
        let text = errstr.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        self.init(err, message: text.isEmpty ? nil : text)
    }

    public var description: String { "\(name) (\(code)): \(message)" }

    // MARK: - Well-known conditions

    /// The producer's local queue (`queue.buffering.max.messages` /
    /// `queue.buffering.max.kbytes`) is full: serve delivery reports with
    /// `poll`, then try again, or push back on the caller.
    public var isQueueFull: Bool { code == RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue }
    /// A message was not delivered within `message.timeout.ms`.
    public var isMessageTimedOut: Bool { code == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT.rawValue }
    /// A call (flush, commit, metadata, admin) ran out of time.
    public var isTimedOut: Bool { code == RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue }
    /// The topic or partition does not exist (locally known or broker answer).
    public var isUnknownTopic: Bool {
        code == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC.rawValue || code == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART.rawValue
            || code == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION.rawValue
    }

    /// The idempotent producer that reported this error will not recover by
    /// itself: its producer id / sequence state no longer matches the broker's
    /// (fatal errors, `UNKNOWN_PRODUCER_ID`, `OUT_OF_ORDER_SEQUENCE_NUMBER`,
    /// `INVALID_PRODUCER_EPOCH`, `INVALID_PRODUCER_ID_MAPPING`). This happens when
    /// the broker lost its state (a memory-only broker restarted, a topic was
    /// deleted and recreated) and, on a real Kafka, after producer-id expiry.
    /// The owner should destroy the producer and create a new one; messages
    /// whose delivery failed must be produced again (at-least-once).
    public var requiresProducerRecreation: Bool {
        isFatal
            || code == RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID.rawValue
            || code == RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER.rawValue
            || code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH.rawValue
            || code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_ID_MAPPING.rawValue
            // Tansu answers a locally bumped epoch (after messages timed out
            // in flight) with PRODUCER_FENCED, again and again.
            || code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED.rawValue
    }

    /// `_TIMED_OUT`, for waits of this wrapper's own.
    public static let timedOutCode = RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue

    static func invalidArgument(_ message: String) -> KafkaError {
        KafkaError(RD_KAFKA_RESP_ERR__INVALID_ARG, message: message)
    }

    static func state(_ message: String) -> KafkaError {
        KafkaError(RD_KAFKA_RESP_ERR__STATE, message: message)
    }
}

extension KafkaError: ClassifiedError {
    /// Permanent for what no retry can change (a message over the size limit,
    /// an invalid argument or configuration); transient for the rest:
    /// brokers away, timeouts, full queues, a producer being replaced.
    public var kind: FailureKind {
        switch code {
        case RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE.rawValue,
             RD_KAFKA_RESP_ERR_INVALID_CONFIG.rawValue:
            .permanent
        default:
            .transient
        }
    }
}
