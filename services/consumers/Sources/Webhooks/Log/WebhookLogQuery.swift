import BeaconCore
import Foundation

/// What `GET /requests` and `GET /errors` ask of the delivery log: filters,
/// a page size and where the previous page ended. Built from query
/// parameters strictly: an unknown one, a bad value or a limit over the
/// bound is refused with the reason, never ignored.
struct WebhookLogQuery: Sendable, Equatable {
    /// An HTTP status, exactly or by class (`4xx`).
    enum Status: Sendable, Equatable {
        case exactly(Int)
        case classOf(Int)
    }

    struct Invalid: Error, Equatable {
        let message: String
    }

    static let defaultLimit = 50
    static let maxLimit = 500
    static let parameterNames = ["app", "host", "status", "outcome", "since", "until", "limit", "cursor"]

    var app: String?
    var host: String?
    var status: Status?
    var outcome: WebhookAttempt.Outcome?
    /// Attempts at or after `since`, and before `until`.
    var since: Date?
    var until: Date?
    var errorsOnly = false
    var limit = Self.defaultLimit
    var cursor: WebhookLogCursor?

    init(app: String? = nil, host: String? = nil, status: Status? = nil, outcome: WebhookAttempt.Outcome? = nil, since: Date? = nil,
         until: Date? = nil, errorsOnly: Bool = false, limit: Int = Self.defaultLimit, cursor: WebhookLogCursor? = nil)
    {
        self.app = app
        self.host = host
        self.status = status
        self.outcome = outcome
        self.since = since
        self.until = until
        self.errorsOnly = errorsOnly
        self.limit = limit
        self.cursor = cursor
    }

    init(parameters: [(name: String, value: String)], errorsOnly: Bool) throws(Invalid) {
        self.errorsOnly = errorsOnly
        var seen: Set<String> = []
        for (name, value) in parameters {
            guard Self.parameterNames.contains(name) else {
                throw Invalid(message: "unknown parameter \(name) (expected \(Self.parameterNames.joined(separator: ", ")))")
            }
            guard seen.insert(name).inserted else { throw Invalid(message: "\(name) is given more than once") }
            switch name {
            case "app": app = try Self.nonEmpty(value, name)
            case "host": host = try Self.nonEmpty(value, name).lowercased()
            case "status": status = try Self.status(value)
            case "outcome":
                guard let parsed = WebhookAttempt.Outcome(rawValue: value) else {
                    throw Invalid(message: "outcome must be one of \(WebhookAttempt.Outcome.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                outcome = parsed
            case "since": since = try Self.time(value, name)
            case "until": until = try Self.time(value, name)
            case "limit":
                guard let number = Int(value), (1...Self.maxLimit).contains(number) else {
                    throw Invalid(message: "limit must be a whole number from 1 to \(Self.maxLimit)")
                }
                limit = number
            default:  // cursor
                guard let parsed = WebhookLogCursor(text: value) else { throw Invalid(message: "cursor is not one this service gave out") }
                cursor = parsed
            }
        }
        if let since, let until, since >= until { throw Invalid(message: "since must be before until") }
        if errorsOnly, outcome == .delivered { throw Invalid(message: "outcome=delivered is never an error") }
    }

    private static func nonEmpty(_ value: String, _ name: String) throws(Invalid) -> String {
        guard !value.isEmpty else { throw Invalid(message: "\(name) must not be empty") }
        return value
    }

    private static func status(_ value: String) throws(Invalid) -> Status {
        let lowered = value.lowercased()
        if lowered.count == 3, lowered.hasSuffix("xx"), let digit = lowered.first?.wholeNumberValue, (1...5).contains(digit) {
            return .classOf(digit)
        }
        guard let code = Int(value), (100...599).contains(code) else {
            throw Invalid(message: "status must be an HTTP status (100 to 599) or a class (1xx to 5xx)")
        }
        return .exactly(code)
    }

    private static func time(_ value: String, _ name: String) throws(Invalid) -> Date {
        guard let date = Timestamp.parse(value) else { throw Invalid(message: "\(name) is not an ISO-8601 time (e.g. 2026-12-01T10:00:00Z)") }
        return date
    }
}
