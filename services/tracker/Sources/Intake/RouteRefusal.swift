import BeaconCore
import HTTPTypes

/// A refused request on the tracker's router (mail registrations,
/// postback jobs): its status, a code a program can test (also the
/// `outcome` label of the endpoint's metric), a message a person can act on,
/// and the field it is about. Answered in the shape of every intake refusal,
/// `{"success":false,"error":{"code","message","field"}}`. Messages never
/// repeat what was sent for a credential.
struct RouteRefusal: Error {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    var field: String?
    /// More for a program to read (e.g. the current key id).
    var details: [(String, JSONValue)] = []

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

    static func invalid(_ field: String, _ message: String) -> RouteRefusal {
        RouteRefusal(status: .badRequest, code: "invalid_request", message: message, field: field)
    }

    static func invalidJSON(_ message: String) -> RouteRefusal { RouteRefusal(status: .badRequest, code: "invalid_json", message: message) }
    static func tooLarge(_ message: String) -> RouteRefusal { RouteRefusal(status: .contentTooLarge, code: "too_large", message: message) }
    static func unauthorized(_ message: String) -> RouteRefusal { RouteRefusal(status: .unauthorized, code: "unauthorized", message: message) }
    static func originNotAllowed(_ message: String) -> RouteRefusal {
        RouteRefusal(status: .forbidden, code: "origin_not_allowed", message: message)
    }
    static func unsupportedMediaType(_ message: String) -> RouteRefusal {
        RouteRefusal(status: .unsupportedMediaType, code: "unsupported_media_type", message: message)
    }
    static func unavailable(_ message: String) -> RouteRefusal {
        RouteRefusal(status: .serviceUnavailable, code: "unavailable", message: message)
    }

    var json: JSONValue {
        var error = JSONObject(pairs: [("code", .string(code)), ("message", .string(message))])
        if let field { error["field"] = .string(field) }
        for (key, value) in details { error[key] = value }
        return .object(JSONObject(pairs: [("success", .bool(false)), ("error", .object(error))]))
    }
}
