import BeaconCore
import Foundation

/// A `POST /v1/mail/defer` or `/v1/mail/stop` body: which registration,
/// the stop token the register answer gave, and (defer) until when.
struct MailChangeRequest {
    enum Kind {
        case pause, stop
        var name: String { self == .pause ? "defer" : "stop" }
    }

    static let maxRegistrationIdLength = 128

    let registrationId: String
    let stopToken: String
    /// Defer only: ISO 8601, as sent (checked to be ahead, and not too far).
    let until: String?

    init(_ payload: JSONObject, kind: Kind, rules: MailRules, now: Date = Date()) throws(MailError) {
        var known: Set<String> = ["registrationId", "stopToken", "writeKey"]
        if kind == .pause { known.insert("until") }
        try MailRegistrationRequest.onlyKnownKeys(payload, known, in: nil)
        registrationId = try Self.string(payload, "registrationId", maxLength: Self.maxRegistrationIdLength)
        stopToken = try Self.string(payload, "stopToken", maxLength: 128)
        guard kind == .pause else {
            until = nil
            return
        }
        let text = try Self.string(payload, "until", maxLength: 64)
        guard let date = Timestamp.parse(text) else {
            throw .invalid("until", "until must be an ISO 8601 time, e.g. 2026-12-01T10:00:00Z")
        }
        guard date > now else { throw .invalid("until", "until must be in the future") }
        guard date.timeIntervalSince(now) <= Double(rules.maxExpiresInSeconds) else {
            throw .invalid("until", "until may be \(rules.maxExpiresInSeconds) seconds ahead at most")
        }
        until = text
    }

    private static func string(_ object: JSONObject, _ key: String, maxLength: Int) throws(MailError) -> String {
        guard let value = object[key] else { throw .invalid(key, "\(key) is missing") }
        guard case .string(let text) = value else { throw .invalid(key, "\(key) must be a string, not \(value.typeName)") }
        guard !text.isEmpty else { throw .invalid(key, "\(key) must not be empty") }
        guard text.utf8.count <= maxLength else { throw .invalid(key, "\(key) is longer than \(maxLength) bytes") }
        return text
    }
}
