import BeaconCore
import HTTPTypes

/// A refused request: its status, a code a program can test, and a message a
/// person can act on. The intake throws it; the channel handler answers it
/// as `{"success":false,"error":{"code":…,"message":…}}` and counts it by code.
struct IntakeError: Error {
    let status: HTTPResponse.Status
    let code: TrackerMetrics.Rejection
    let message: String
    var retryAfterSeconds: Int?

    static func invalidJSON(_ message: String) -> IntakeError { .init(status: .badRequest, code: .invalidJSON, message: message) }
    static func invalidBody(_ message: String) -> IntakeError { .init(status: .badRequest, code: .invalidBody, message: message) }
    static func tooLarge(_ message: String) -> IntakeError { .init(status: .contentTooLarge, code: .tooLarge, message: message) }
    static func unauthorized(_ message: String) -> IntakeError { .init(status: .unauthorized, code: .unauthorized, message: message) }
    static func originNotAllowed(_ message: String) -> IntakeError { .init(status: .forbidden, code: .originNotAllowed, message: message) }
    static func unsupportedMediaType(_ message: String) -> IntakeError {
        .init(status: .unsupportedMediaType, code: .unsupportedMediaType, message: message)
    }
    static func unavailable(_ message: String) -> IntakeError {
        .init(status: .serviceUnavailable, code: .unavailable, message: message, retryAfterSeconds: 1)
    }
    static func rateLimited(_ message: String, retryAfterSeconds: Int) -> IntakeError {
        .init(status: .tooManyRequests, code: .rateLimited, message: message, retryAfterSeconds: retryAfterSeconds)
    }

    /// analytics.js reads X-RateLimit-Reset on a 429 as the seconds to wait;
    /// other clients read Retry-After. Both say the same.
    static let rateLimitReset = HTTPField.Name("X-RateLimit-Reset")!

    var response: IntakeResponse {
        let body: JSONValue = ["success": false, "error": ["code": .string(code.rawValue), "message": .string(message)]]
        var response = IntakeResponse(status: status, json: body)
        if let retryAfterSeconds {
            response.headers.replaceOrAdd(name: "Retry-After", value: String(retryAfterSeconds))
            if status == .tooManyRequests { response.headers.replaceOrAdd(name: Self.rateLimitReset.rawName, value: String(retryAfterSeconds)) }
        }
        return response
    }
}
