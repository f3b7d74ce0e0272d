import BeaconCore
import HTTPTypes

/// A refused postback job: its status, a code a program can test (also the
/// `outcome` of `beacon_tracker_postback_requests_total`), a message a
/// person can act on, and the field it is about; answered in the shape of
/// every intake refusal, `{"success":false,"error":{"code","message","field"}}`.
struct PostbackError: Error, Equatable {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    var field: String?

    static func invalid(_ field: String, _ message: String) -> PostbackError {
        PostbackError(status: .badRequest, code: "invalid_request", message: message, field: field)
    }

    static func invalidJSON(_ message: String) -> PostbackError { PostbackError(status: .badRequest, code: "invalid_json", message: message) }
    static func tooLarge(_ message: String) -> PostbackError { PostbackError(status: .contentTooLarge, code: "too_large", message: message) }
    static func unauthorized(_ message: String) -> PostbackError { PostbackError(status: .unauthorized, code: "unauthorized", message: message) }
    static func originNotAllowed(_ message: String) -> PostbackError {
        PostbackError(status: .forbidden, code: "origin_not_allowed", message: message)
    }
    static func unsupportedMediaType(_ message: String) -> PostbackError {
        PostbackError(status: .unsupportedMediaType, code: "unsupported_media_type", message: message)
    }
    static func unavailable(_ message: String) -> PostbackError {
        PostbackError(status: .serviceUnavailable, code: "unavailable", message: message)
    }
    static func disabled(app: String) -> PostbackError {
        PostbackError(
            status: .forbidden, code: "postbacks_disabled",
            message: "postbacks are off for app \(app): no host is allowed yet (postback.allowedHosts.\(app))", field: "endpoint.url")
    }
    static func hostNotAllowed(_ host: String, app: String) -> PostbackError {
        PostbackError(
            status: .forbidden, code: "host_not_allowed",
            message: "host \(host.prefix(253)) is not in postback.allowedHosts.\(app)", field: "endpoint.url")
    }

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
        return .object(JSONObject(pairs: [("success", .bool(false)), ("error", .object(error))]))
    }
}
