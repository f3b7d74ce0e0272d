import BeaconCore
import Foundation

/// What became of one FCM send, as the caller must act on it.
public enum FCMOutcome: Sendable, Equatable {
    /// FCM accepted the message; `messageName` is its `projects/*/messages/*` name.
    case delivered(messageName: String)
    /// The registration token is dead (UNREGISTERED, SENDER_ID_MISMATCH, or
    /// INVALID_ARGUMENT naming the token): remove the device.
    case invalidToken(reason: String)
    /// 429, 5xx, UNAVAILABLE/INTERNAL/QUOTA_EXCEEDED or a transport failure:
    /// retry later, not before `retryAfter` when the server said so.
    case retryable(reason: String, retryAfter: Duration?)
    /// FCM refused the access token (401) even after a fresh one was fetched.
    case unauthenticated
    /// Anything else: retrying the same request will not help.
    case permanent(reason: String)

    public var isDelivered: Bool {
        if case .delivered = self { return true }
        return false
    }

    /// A short label for metrics and feedback: delivered, invalid_token, retryable, unauthenticated, permanent.
    public var label: String {
        switch self {
        case .delivered: "delivered"
        case .invalidToken: "invalid_token"
        case .retryable: "retryable"
        case .unauthenticated: "unauthenticated"
        case .permanent: "permanent"
        }
    }
}

/// One send's outcome with what was seen on the way.
public struct FCMResult: Sendable, Equatable {
    public var outcome: FCMOutcome
    /// HTTP status of the last messages:send answer; nil when none came (transport or token failure).
    public var status: Int?
    /// FCM's `errorCode` (from `google.firebase.fcm.v1.FcmError`), else the error's `status`, if any.
    public var errorCode: String?
    /// Wall time from the start of `send` to its end, token fetches included.
    public var latency: Duration
    /// messages:send requests made: 2 when a 401 led to a refreshed token and one more try.
    public var attempts: Int

    public init(outcome: FCMOutcome, status: Int?, errorCode: String?, latency: Duration, attempts: Int) {
        self.outcome = outcome
        self.status = status
        self.errorCode = errorCode
        self.latency = latency
        self.attempts = attempts
    }
}

/// The parts of a Google API error body (`{"error": {code, message, status, details}}`) that matter.
public struct FCMErrorBody: Sendable, Equatable {
    public var code: Int?
    public var message: String
    /// The canonical status, e.g. NOT_FOUND, INVALID_ARGUMENT.
    public var status: String?
    /// `errorCode` of the `google.firebase.fcm.v1.FcmError` detail, e.g. UNREGISTERED.
    public var fcmErrorCode: String?
    /// `fieldViolations[].field` of `google.rpc.BadRequest` details, e.g. message.token.
    public var fieldViolations: [String]

    public init(code: Int? = nil, message: String = "", status: String? = nil, fcmErrorCode: String? = nil, fieldViolations: [String] = []) {
        self.code = code
        self.message = message
        self.status = status
        self.fcmErrorCode = fcmErrorCode
        self.fieldViolations = fieldViolations
    }

    public init?(_ bytes: some Collection<UInt8>) {
        guard let document = try? JSONParser.parse(bytes), let error = document["error"], case .object = error else { return nil }
        self.init()
        if let code = error["code"]?.doubleValue { self.code = Int(code) }
        message = error["message"]?.stringValue ?? ""
        status = error["status"]?.stringValue
        if case .array(let details)? = error["details"] {
            for detail in details {
                let type = detail["@type"]?.stringValue ?? ""
                if type.hasSuffix("google.firebase.fcm.v1.FcmError"), let code = detail["errorCode"]?.stringValue {
                    fcmErrorCode = code
                } else if type.hasSuffix("google.rpc.BadRequest"), case .array(let violations)? = detail["fieldViolations"] {
                    fieldViolations += violations.compactMap { $0["field"]?.stringValue }
                }
            }
        }
    }

    /// The most specific code there is.
    public var errorCode: String? { fcmErrorCode ?? status }

    /// Whether an INVALID_ARGUMENT is about the registration token rather than the payload.
    public var namesRegistrationToken: Bool {
        if fieldViolations.contains(where: { $0 == "message.token" }) { return true }
        return message.lowercased().contains("registration token")
    }
}

extension FCMOutcome {
    /// Maps one messages:send answer to what the caller should do. Pure: no I/O, no retries.
    /// - Parameters:
    ///   - retryAfter: the `Retry-After` header, in seconds or as an HTTP date.
    ///   - now: the time against which an HTTP-date `Retry-After` is measured.
    public static func classify(
        status: Int, retryAfter: String? = nil, body: some Collection<UInt8>, now: Date = Date()
    ) -> (outcome: FCMOutcome, errorCode: String?) {
        if (200..<300).contains(status) {
            let name = (try? JSONParser.parse(body))?["name"]?.stringValue ?? ""
            return (.delivered(messageName: name), nil)
        }
        let error = FCMErrorBody(body)
        let code = error?.errorCode
        let detail = error.map { [$0.errorCode ?? "HTTP \(status)", $0.message].filter { !$0.isEmpty }.joined(separator: ": ") }
            ?? "HTTP \(status)"
        let wait = retryAfter.flatMap { PushRetryPolicy.parseRetryAfter($0, now: now) }

        switch error?.fcmErrorCode {
        case "UNREGISTERED", "SENDER_ID_MISMATCH":
            return (.invalidToken(reason: detail), code)
        case "QUOTA_EXCEEDED", "UNAVAILABLE", "INTERNAL":
            return (.retryable(reason: detail, retryAfter: wait), code)
        case "THIRD_PARTY_AUTH_ERROR":
            // The APNs certificate or web push key behind the Firebase project, not our access token.
            return (.permanent(reason: detail), code)
        default:
            break
        }

        switch status {
        case 400 where error?.errorCode == "INVALID_ARGUMENT" && error?.namesRegistrationToken == true:
            return (.invalidToken(reason: detail), code)
        case 401:
            return (.unauthenticated, code ?? "UNAUTHENTICATED")
        case 408, 429, 500...599:
            return (.retryable(reason: detail, retryAfter: wait), code)
        default:
            return (.permanent(reason: detail), code)
        }
    }
}
