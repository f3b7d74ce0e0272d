import BeaconCore
import Foundation

/// Which parked records a replay takes: by app, rule, host, consumer and
/// when they failed. Empty fields match everything.
struct ReplayFilter: Sendable, Equatable {
    var app: String?
    var rule: String?
    var host: String?
    /// For events: the consumer that parked it (registry, rules, counters).
    var consumer: String?
    var since: Date?
    var until: Date?

    static let parameters: Set<String> = ["from", "app", "rule", "host", "consumer", "since", "until", "dryRun"]

    /// From query parameters or flags; a bad time or an unknown name is an error naming it.
    init(parameters: [(String, String)]) throws(ServiceError) {
        for (name, value) in parameters {
            guard Self.parameters.contains(name) else {
                throw .permanent("unknown parameter \(name) (expected \(Self.parameters.sorted().joined(separator: ", ")))")
            }
            switch name {
            case "app": app = value
            case "rule": rule = value
            case "host": host = value.lowercased()
            case "consumer": consumer = value
            case "since", "until":
                guard let date = Timestamp.parse(value) else { throw .permanent("\(name) must be an ISO 8601 time, not \(value)") }
                if name == "since" { since = date } else { until = date }
            default: break
            }
        }
    }

    init() {}

    func matches(app recordApp: String?, rule recordRule: String?, host recordHost: String?, consumer recordConsumer: String?, failedAt: Date?) -> Bool {
        if let app, app != recordApp { return false }
        if let rule, rule != recordRule { return false }
        if let host, host != recordHost { return false }
        if let consumer, consumer != recordConsumer { return false }
        if let since, (failedAt ?? .distantPast) < since { return false }
        if let until, (failedAt ?? .distantFuture) > until { return false }
        return true
    }
}
