import BeaconCore
import HTTPTypes

/// A refused mail request: its status, a code a program can test (also the
/// `outcome` of `beacon_tracker_mail_requests_total`), a message a person can
/// act on, and the field it is about. Answered as
/// `{"success":false,"error":{"code":…,"message":…,"field":…}}`, the shape of
/// every intake refusal. Messages never repeat what was sent for a credential.
struct MailError: Error {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    var field: String?
    /// More for a program to read (e.g. the current key id).
    var details: [(String, JSONValue)] = []

    static func invalid(_ field: String, _ message: String) -> MailError {
        MailError(status: .badRequest, code: "invalid_request", message: message, field: field)
    }

    static func invalidJSON(_ message: String) -> MailError { MailError(status: .badRequest, code: "invalid_json", message: message) }
    static func tooLarge(_ message: String) -> MailError { MailError(status: .contentTooLarge, code: "too_large", message: message) }
    static func unauthorized(_ message: String) -> MailError { MailError(status: .unauthorized, code: "unauthorized", message: message) }
    static func originNotAllowed(_ message: String) -> MailError {
        MailError(status: .forbidden, code: "origin_not_allowed", message: message)
    }
    static func unsupportedMediaType(_ message: String) -> MailError {
        MailError(status: .unsupportedMediaType, code: "unsupported_media_type", message: message)
    }
    static func unavailable(_ message: String) -> MailError { MailError(status: .serviceUnavailable, code: "unavailable", message: message) }
    static let notConfigured = MailError(
        status: .serviceUnavailable, code: "mail_not_configured",
        message: "mail registration is not configured on this tracker (mail.publicKeyFile is not set)")
    static let wrongStopToken = MailError(
        status: .forbidden, code: "invalid_stop_token", message: "the stopToken does not belong to this registrationId and app",
        field: "stopToken")

    init(status: HTTPResponse.Status, code: String, message: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
    }

    init(_ refusal: RouterRequests.Refusal) {
        switch refusal {
        case .tooLarge(let message): self = .tooLarge(message)
        case .unsupportedMediaType(let message): self = .unsupportedMediaType(message)
        case .invalidJSON(let message): self = .invalidJSON(message)
        case .unauthorized(let message): self = .unauthorized(message)
        case .originNotAllowed(let message): self = .originNotAllowed(message)
        }
    }

    var json: JSONValue {
        var error = JSONObject(pairs: [("code", .string(code)), ("message", .string(message))])
        if let field { error["field"] = .string(field) }
        for (key, value) in details { error[key] = value }
        return .object(JSONObject(pairs: [("success", .bool(false)), ("error", .object(error))]))
    }
}
