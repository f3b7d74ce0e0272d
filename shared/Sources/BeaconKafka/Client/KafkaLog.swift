#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One line of librdkafka's log.
public struct KafkaLogMessage: Sendable, CustomStringConvertible {
    /// syslog level: 0 emergency ... 3 error, 4 warning, 5 notice, 6 info, 7 debug.
    public let level: Int32
    /// librdkafka's facility, e.g. `FAIL`, `ERROR`, `REQTMOUT`, `CGRPOP`.
    public let facility: String
    public let message: String
    /// The client instance's name (`rd_kafka_name`, e.g. `beacon#producer-1`).
    public let client: String

    public var isError: Bool { level <= 3 }
    public var isWarning: Bool { level == 4 }

    public var description: String { "rdkafka[\(client)] \(facility) (level \(level)): \(message)" }
}

/// Receives librdkafka's log lines. librdkafka calls it from its own threads,
/// possibly while another thread is in `poll`: keep it quick and thread-safe
/// (hand the line to swift-log, a counter, a queue).
/// Which lines librdkafka emits at all is controlled by the `log_level`
/// (default 6) and `debug` properties (put them in `extra`).
public typealias KafkaLogHandler = @Sendable (KafkaLogMessage) -> Void

public enum KafkaLog {
    /// The default: errors (level 3 and more severe) go to standard error,
    /// everything else is dropped.
    public static let errorsToStandardError: KafkaLogHandler = { line in
        guard line.isError else { return }
        let text = "\(line)\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
    }

    /// Drops every line.
    public static let silent: KafkaLogHandler = { _ in }
}
