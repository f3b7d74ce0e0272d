import CRdKafka
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What librdkafka's C callbacks need to reach Swift. One per client instance;
/// it is the instance's `opaque` (`rd_kafka_conf_set_opaque`), retained for
/// the lifetime of the `rd_kafka_t` and released only after `rd_kafka_destroy`
/// returned, so no callback can see it freed.
final class KafkaClientContext: @unchecked Sendable {
    let log: KafkaLogHandler
    let onDelivery: (@Sendable (DeliveryReport) -> Void)?
    /// False when the wrapper itself turned on `debug=eos` to watch the
    /// idempotent producer: those debug lines are then not forwarded.
    let forwardDebugLines: Bool

    /// "Unknown producer id" retries since the last successful delivery. The
    /// debug facility `UNKPID` is the only place librdkafka tells: it keeps
    /// bumping the epoch locally and retrying, and deliveries merely time out.
    let unknownProducerIdStreak = Atomic<Int>(0)
    let unknownProducerIdLine = Mutex<String>("")
    /// The first delivery that failed with an error only a new producer gets
    /// past (`requiresProducerRecreation`), e.g. Tansu's PRODUCER_FENCED.
    let brokenBy = Mutex<KafkaError?>(nil)

    /// A consumer's partitions, kept by the rebalance callback (group) or by
    /// `assignAllPartitions`, and who wants to hear of a change.
    let assignment = Mutex<Set<KafkaPartition>>([])
    let onAssignment: (@Sendable (AssignmentChange) -> Void)?

    init(
        log: @escaping KafkaLogHandler, onDelivery: (@Sendable (DeliveryReport) -> Void)? = nil, forwardDebugLines: Bool = true,
        onAssignment: (@Sendable (AssignmentChange) -> Void)? = nil
    ) {
        self.log = log
        self.onDelivery = onDelivery
        self.forwardDebugLines = forwardDebugLines
        self.onAssignment = onAssignment
    }

    func assigned(_ partitions: [KafkaPartition], replacing: Bool) {
        assignment.withLock { current in
            if replacing { current = Set(partitions) } else { current.formUnion(partitions) }
        }
        onAssignment?(.assigned(partitions))
    }

    func revoked(_ partitions: [KafkaPartition]?) {
        let gone = assignment.withLock { current -> [KafkaPartition] in
            guard let partitions else {
                defer { current.removeAll() }
                return Array(current)
            }
            current.subtract(partitions)
            return partitions
        }
        onAssignment?(.revoked(gone))
    }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> KafkaClientContext? {
        guard let opaque else { return nil }
        return Unmanaged<KafkaClientContext>.fromOpaque(opaque).takeUnretainedValue()
    }
}

/// librdkafka's log callback: forwards to the client's `KafkaLogHandler`.
private let logCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = {
    rk, level, facility, buffer in
    guard let rk, let context = KafkaClientContext.from(rd_kafka_opaque(rk)) else { return }
    if level >= 7, let facility, strcmp(facility, "UNKPID") == 0 {
        context.unknownProducerIdStreak.add(1, ordering: .relaxed)
        let text = buffer.map { String(cString: $0) } ?? ""
        context.unknownProducerIdLine.withLock { $0 = text }
    }
    if level >= 7 && !context.forwardDebugLines { return }
    let line = KafkaLogMessage(
        level: level,
        facility: facility.map { String(cString: $0) } ?? "",
        message: buffer.map { String(cString: $0) } ?? "",
        client: rd_kafka_name(rk).map { String(cString: $0) } ?? ""
    )
    context.log(line)
}

/// An `rd_kafka_conf_t` that is destroyed unless `rd_kafka_new` took it over.
struct KafkaConfBuilder: ~Copyable {
    private(set) var conf: OpaquePointer?

    init() { conf = rd_kafka_conf_new() }

    deinit { if let conf { rd_kafka_conf_destroy(conf) } }

    func set(_ name: String, _ value: String) throws(KafkaError) {
        var errstr = [CChar](repeating: 0, count: 512)
        let result = rd_kafka_conf_set(conf, name, value, &errstr, errstr.count)
        guard result == RD_KAFKA_CONF_OK else {
            let text = errstr.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw KafkaError.invalidArgument(text.isEmpty ? "invalid configuration \(name)=\(value)" : text)
        }
    }

    func set(_ settings: [(String, String)]) throws(KafkaError) {
        for (name, value) in settings { try set(name, value) }
    }

    /// Creates the client. On success librdkafka owns the configuration.
    mutating func makeClient(_ type: rd_kafka_type_t) throws(KafkaError) -> OpaquePointer {
        var errstr = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(type, conf, &errstr, errstr.count) else {
            throw KafkaError(RD_KAFKA_RESP_ERR__INVALID_ARG, errstr: errstr)
        }
        conf = nil
        return rk
    }
}

/// Builds a client: applies `settings` in order (later ones win), installs the
/// log callback and the context as opaque, lets `configure` add callbacks.
/// The returned handle holds one retain of `context`; release it after
/// `rd_kafka_destroy`.
func makeKafkaClient(
    _ type: rd_kafka_type_t,
    settings: [(String, String)],
    context: KafkaClientContext,
    configure: (OpaquePointer) -> Void = { _ in }
) throws(KafkaError) -> (OpaquePointer, Unmanaged<KafkaClientContext>) {
    var builder = KafkaConfBuilder()
    try builder.set(settings)
    guard let conf = builder.conf else { throw KafkaError.state("rd_kafka_conf_new failed") }
    rd_kafka_conf_set_log_cb(conf, logCallback)
    configure(conf)
    let retained = Unmanaged.passRetained(context)
    rd_kafka_conf_set_opaque(conf, retained.toOpaque())
    do {
        return (try builder.makeClient(type), retained)
    } catch {
        retained.release()
        throw error
    }
}

/// Settings every Beacon client starts from; callers' values come after and win.
let kafkaBaseSettings: [(String, String)] = [
    // A broker closing an idle connection is routine, not an error worth a log line.
    ("log.connection.close", "false"),
]

func settingsList(_ base: [(String, String)], extra: [String: String]) -> [(String, String)] {
    base + extra.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
}
