import CRdKafka

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A librdkafka producer (`rd_kafka_t` of type producer), owned by this object:
/// `deinit` destroys it (without waiting: `flush` first to keep what is queued).
///
/// Delivery: `produce` only queues the message; its outcome arrives as a
/// `DeliveryReport` through `onDelivery`, called on the thread that calls
/// `poll` or `flush` (never from librdkafka's own threads). Call `poll`
/// regularly (a dedicated loop, or after each batch of `produce` calls).
/// `onDelivery` must not capture the producer strongly (that is a cycle).
///
/// Recreating after a fatal error. An idempotent producer keeps a producer id
/// and per-partition sequence numbers that the broker must remember. When the
/// broker loses them (the local memory-only Tansu broker restarted; on a real
/// Kafka, rarer cases such as a deleted and recreated topic), this instance
/// never recovers: librdkafka either raises a fatal error (delivery reports
/// then fail with `_FATAL`) or, as against a restarted Tansu, retries with
/// locally bumped epochs forever while the broker answers
/// `UNKNOWN_PRODUCER_ID` and every message ends as `_MSG_TIMED_OUT`.
/// `fatalError` covers both (see there). The owner checks it after each
/// `poll` (and may also look at `report.error?.requiresProducerRecreation`):
///
///     if producer.fatalError != nil {
///         producer.purgeOutstanding()              // failed reports for all still queued
///         producer = try producer.makeReplacement() // same config, same onDelivery
///         // produce again every message whose report failed (at-least-once;
///         // downstream recognises duplicates by messageId)
///     }
///
/// The replacement shares `onDelivery`, so tokens should stay unique across
/// producers (e.g. one counter owned by the caller).
///
/// Thread safety: `produce`, `poll`, `flush` and the properties may be used
/// from any thread concurrently (librdkafka locks internally).
public final class KafkaProducer: @unchecked Sendable {
    public let config: KafkaProducerConfig
    let handle: OpaquePointer
    private let context: Unmanaged<KafkaClientContext>
    private let onDelivery: @Sendable (DeliveryReport) -> Void

    public init(config: KafkaProducerConfig, onDelivery: @escaping @Sendable (DeliveryReport) -> Void) throws(KafkaError) {
        self.config = config
        self.onDelivery = onDelivery
        var settings = config.properties
        var forwardDebugLines = true
        if config.idempotent {
            // Watch the idempotence state machine (a few lines per state change,
            // none per message) to notice a broker that forgot our producer id.
            let debug = config.extra["debug"]
            if debug == nil { forwardDebugLines = false }
            if !(debug ?? "").split(separator: ",").contains(where: { $0 == "eos" || $0 == "all" }) {
                settings.append(("debug", debug.map { $0 + ",eos" } ?? "eos"))
            }
        }
        let context = KafkaClientContext(log: config.logHandler, onDelivery: onDelivery, forwardDebugLines: forwardDebugLines)
        (handle, self.context) = try makeKafkaClient(RD_KAFKA_PRODUCER, settings: settings, context: context) {
            conf in
            rd_kafka_conf_set_dr_msg_cb(conf, deliveryReportCallback)
        }
    }

    deinit {
        rd_kafka_destroy(handle)
        context.release()
    }

    /// A new producer with the same configuration and delivery callback, for
    /// replacing this one after a fatal error (see the type's documentation).
    public func makeReplacement() throws(KafkaError) -> KafkaProducer {
        try KafkaProducer(config: config, onDelivery: onDelivery)
    }

    /// The instance name librdkafka gave this client, e.g. `beacon#producer-1`.
    public var name: String { String(cString: rd_kafka_name(handle)) }

    // MARK: - Producing

    /// Queues one message; librdkafka copies `key` and `value`. The outcome
    /// comes later as a `DeliveryReport` carrying `token`.
    ///
    /// Throws `isQueueFull` when the local queue is at its bound (serve
    /// reports with `poll` and retry, or refuse work upstream), `isFatal` when
    /// the producer must be recreated, `isUnknownTopic` for a topic the
    /// broker does not know, and `_MSG_SIZE_TOO_LARGE` for an oversized message.
    public func produce(topic: String, key: [UInt8]?, value: [UInt8], token: UInt64) throws(KafkaError) {
        let error: KafkaError? = value.withUnsafeBytes { valueBytes in
            if let key {
                return key.withUnsafeBytes { keyBytes in
                    enqueue(topic: topic, key: keyBytes, value: valueBytes, token: token)
                }
            }
            return enqueue(topic: topic, key: nil, value: valueBytes, token: token)
        }
        if let error { throw error }
    }

    /// Queues one message from raw memory, without building arrays first
    /// (e.g. from a `ByteBuffer` or `String.utf8`). librdkafka copies the bytes
    /// during the call, so the buffers only need to live until it returns.
    public func produce(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, token: UInt64) throws(KafkaError) {
        if let error = enqueue(topic: topic, key: key, value: value, token: token) { throw error }
    }

    private func enqueue(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, token: UInt64) -> KafkaError? {
        topic.withCString { topicName -> KafkaError? in
            var parts = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 5)
            parts[0].vtype = RD_KAFKA_VTYPE_TOPIC
            parts[0].u.cstr = topicName
            parts[1].vtype = RD_KAFKA_VTYPE_VALUE
            // An empty, non-null payload is an empty value; a null one would be a tombstone.
            parts[1].u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress ?? emptyPayload)
            parts[1].u.mem.size = value.count
            parts[2].vtype = RD_KAFKA_VTYPE_OPAQUE
            parts[2].u.ptr = UnsafeMutableRawPointer(bitPattern: UInt(truncatingIfNeeded: token))
            parts[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS
            parts[3].u.i = RD_KAFKA_MSG_F_COPY
            var count = 4
            if let key {
                parts[4].vtype = RD_KAFKA_VTYPE_KEY
                parts[4].u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress ?? emptyPayload)
                parts[4].u.mem.size = key.count
                count = 5
            }
            guard let error = rd_kafka_produceva(handle, parts, count) else { return nil }
            return KafkaError(consuming: error)
        }
    }

    // MARK: - Serving

    /// Serves queued delivery reports (calling `onDelivery` on this thread)
    /// and other events; waits up to `timeoutMs` (0: do not wait, -1: forever)
    /// for the first one. Returns the number of events served.
    @discardableResult
    public func poll(timeoutMs: Int32) -> Int32 {
        rd_kafka_poll(handle, timeoutMs)
    }

    /// Waits until every queued message has its delivery report (served on
    /// this thread) or `timeoutMs` passed; throws `isTimedOut` in that case.
    public func flush(timeoutMs: Int32) throws(KafkaError) {
        let result = rd_kafka_flush(handle, timeoutMs)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let text = String(cString: rd_kafka_err2str(result))
            throw KafkaError(result, message: "\(text): \(outstanding) message(s) or event(s) still queued after \(timeoutMs) ms")
        }
    }

    /// Drops everything still queued or in flight: each such message gets a
    /// failed delivery report (`_PURGE_QUEUE` / `_PURGE_INFLIGHT`), served here
    /// within `timeoutMs`. Use before replacing a broken producer.
    public func purgeOutstanding(timeoutMs: Int32 = 5_000) {
        _ = rd_kafka_purge(handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
        _ = rd_kafka_flush(handle, timeoutMs)
    }

    // MARK: - State

    /// The fatal error that made this instance unusable (`rd_kafka_fatal_error`),
    /// or nil. When non-nil: recreate the producer (see the type's documentation).
    ///
    /// Besides librdkafka's own fatal errors this reports one librdkafka does
    /// not raise: a broker that answers `UNKNOWN_PRODUCER_ID` again and again
    /// (Tansu after a restart). librdkafka then bumps the epoch locally and
    /// retries forever, deliveries end only as `_MSG_TIMED_OUT`, and
    /// `rd_kafka_fatal_error` stays clear. After
    /// `unknownProducerIdRetriesBeforeFatal` such answers with no successful
    /// delivery in between, this returns an `UNKNOWN_PRODUCER_ID` error with
    /// `isFatal` set.
    ///
    /// It also reports a delivery that failed with an error only a new
    /// producer gets past (`requiresProducerRecreation`): after messages timed
    /// out in flight librdkafka bumps the epoch locally, and a broker that
    /// does not accept that epoch (Tansu answers PRODUCER_FENCED) refuses
    /// every later message of this instance.
    public var fatalError: KafkaError? {
        if let fatal = fatalErrorOf(handle) { return fatal }
        let box = context.takeUnretainedValue()
        if let broken = box.brokenBy.withLock({ $0 }) {
            return KafkaError(code: broken.code, message: "a delivery failed with \(broken.name), which this producer cannot get past; recreate the producer. \(broken.message)", isFatal: true)
        }
        guard box.unknownProducerIdStreak.load(ordering: .relaxed) >= Self.unknownProducerIdRetriesBeforeFatal else { return nil }
        let detail = box.unknownProducerIdLine.withLock { $0 }
        return KafkaError(
            RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID,
            message: "the broker keeps answering UNKNOWN_PRODUCER_ID (it lost the idempotent producer's state); recreate the producer. librdkafka: \(detail)",
            isFatal: true
        )
    }

    /// See `fatalError`.
    public static let unknownProducerIdRetriesBeforeFatal = 3

    /// Messages (and events) queued or in flight and not yet reported
    /// (`rd_kafka_outq_len`).
    public var outstanding: Int32 { rd_kafka_outq_len(handle) }

    /// Cluster metadata as this producer sees it (`rd_kafka_metadata`).
    /// `topic` nil: all topics. Also a cheap "is the broker reachable" probe.
    public func metadata(topic: String? = nil, timeoutMs: Int32 = 5_000) throws(KafkaError) -> KafkaMetadata {
        try fetchMetadata(handle, topic: topic, timeoutMs: timeoutMs)
    }
}

/// A zero byte to point at for empty keys and values.
nonisolated(unsafe) private let emptyPayload: UnsafeRawPointer = {
    let byte = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)
    byte.storeBytes(of: 0, as: UInt8.self)
    return UnsafeRawPointer(byte)
}()

func fatalErrorOf(_ handle: OpaquePointer) -> KafkaError? {
    var errstr = [CChar](repeating: 0, count: 512)
    let code = rd_kafka_fatal_error(handle, &errstr, errstr.count)
    guard code != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
    let text = errstr.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    return KafkaError(code, message: text.isEmpty ? nil : text, isFatal: true)
}

/// `rd_kafka_message_produce_errstr` (librdkafka >= 2.2): the detailed reason of
/// a failed delivery. Looked up at run time because the headers we build
/// against (2.0.2) do not declare it.
private let produceErrstr: (@convention(c) (UnsafePointer<rd_kafka_message_t>?) -> UnsafePointer<CChar>?)? = {
    #if canImport(Darwin)
    let scope = UnsafeMutableRawPointer(bitPattern: -2)  // RTLD_DEFAULT
    #else
    let scope: UnsafeMutableRawPointer? = nil  // RTLD_DEFAULT
    #endif
    guard let symbol = dlsym(scope, "rd_kafka_message_produce_errstr") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (UnsafePointer<rd_kafka_message_t>?) -> UnsafePointer<CChar>?).self)
}()

/// librdkafka's delivery-report callback, called from `rd_kafka_poll` /
/// `rd_kafka_flush` on the application's thread.
private let deliveryReportCallback: @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = {
    _, message, opaque in
    guard let message, let context = KafkaClientContext.from(opaque) else { return }
    let m = message.pointee
    var error: KafkaError?
    if m.err == RD_KAFKA_RESP_ERR_NO_ERROR {
        context.unknownProducerIdStreak.store(0, ordering: .relaxed)
    } else {
        let detail = produceErrstr?(message).map { String(cString: $0) }
        let failure = KafkaError(m.err, message: detail)
        if failure.requiresProducerRecreation { context.brokenBy.withLock { if $0 == nil { $0 = failure } } }
        error = failure
    }
    context.onDelivery?(DeliveryReport(
        token: UInt64(UInt(bitPattern: m._private)),
        topic: m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "",
        partition: m.partition,
        offset: m.offset,
        error: error
    ))
}
