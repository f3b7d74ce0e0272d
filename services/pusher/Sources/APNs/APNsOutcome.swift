import Foundation

/// What an APNs answer means for the caller.
public enum APNsOutcome: Sendable, Equatable {
    /// 200: APNs accepted the notification.
    case delivered
    /// The device token is no longer usable for this topic (400 BadDeviceToken,
    /// 400 DeviceTokenNotForTopic, 410 Unregistered): remove the device.
    case invalidToken(reason: String)
    /// 429 or 5xx, or no answer at all (connection, TLS or timeout error): try
    /// again later, no sooner than `retryAfter` when the server gave one.
    case retryable(reason: String, retryAfter: Duration?)
    /// 403 ExpiredProviderToken: sign a new JWT and try again.
    case expiredProviderToken
    /// Anything else: the request itself is wrong and will not succeed as it is.
    case permanent(reason: String)

    /// The reason string (APNs' `reason`, or a description of the failure); nil when delivered.
    public var reason: String? {
        switch self {
        case .delivered: nil
        case .invalidToken(let reason), .permanent(let reason): reason
        case .retryable(let reason, _): reason
        case .expiredProviderToken: APNsReason.expiredProviderToken
        }
    }

    /// Whether the device token should be dropped from the registry.
    public var removesDevice: Bool {
        if case .invalidToken = self { return true }
        return false
    }

    /// Maps an APNs status and reason to an outcome. `retryAfter` is the
    /// parsed `Retry-After` header, if any.
    public static func classify(status: Int, reason: String?, retryAfter: Duration? = nil) -> APNsOutcome {
        let reason = reason ?? "HTTP \(status)"
        switch status {
        case 200:
            return .delivered
        case 410:
            return .invalidToken(reason: reason)
        case 400 where APNsReason.invalidTokenReasons.contains(reason):
            return .invalidToken(reason: reason)
        case 403 where reason == APNsReason.expiredProviderToken:
            return .expiredProviderToken
        case 429, 500...599:
            return .retryable(reason: reason, retryAfter: retryAfter)
        default:
            return .permanent(reason: reason)
        }
    }
}

/// The `reason` strings APNs documents, the ones this client acts on by name.
public enum APNsReason {
    public static let badDeviceToken = "BadDeviceToken"
    public static let unregistered = "Unregistered"
    public static let deviceTokenNotForTopic = "DeviceTokenNotForTopic"
    public static let expiredProviderToken = "ExpiredProviderToken"
    public static let invalidProviderToken = "InvalidProviderToken"
    public static let missingProviderToken = "MissingProviderToken"
    public static let tooManyRequests = "TooManyRequests"
    public static let tooManyProviderTokenUpdates = "TooManyProviderTokenUpdates"
    public static let internalServerError = "InternalServerError"
    public static let serviceUnavailable = "ServiceUnavailable"
    public static let payloadTooLarge = "PayloadTooLarge"

    public static let invalidTokenReasons: Set<String> = [badDeviceToken, unregistered, deviceTokenNotForTopic]
}

/// One APNs answer (or the failure to get one), with what came with it.
public struct APNsResponse: Sendable, Equatable {
    public let outcome: APNsOutcome
    /// The HTTP status, nil when no response arrived.
    public let status: Int?
    /// `apns-id` as APNs returned it (ours, or the one it made).
    public let apnsId: String?
    /// For 410: when APNs last knew the token to be valid (the body's `timestamp`).
    /// A device registered after this instant should be kept.
    public let unregisteredAt: Date?
    /// From writing the request to having the whole answer.
    public let latency: Duration

    public init(outcome: APNsOutcome, status: Int?, apnsId: String?, unregisteredAt: Date? = nil, latency: Duration) {
        self.outcome = outcome
        self.status = status
        self.apnsId = apnsId
        self.unregisteredAt = unregisteredAt
        self.latency = latency
    }
}

/// The end result of ``APNsClient/send(_:retry:)``: the last answer, and how it got there.
public struct APNsDelivery: Sendable {
    /// The final answer.
    public let response: APNsResponse
    /// Every answer in order, the final one last.
    public let attempts: [APNsResponse]
    /// The waits taken between attempts.
    public let delays: [Duration]
    /// Whether the provider token was refreshed after ExpiredProviderToken.
    public let refreshedProviderToken: Bool

    public var outcome: APNsOutcome { response.outcome }
    /// All time spent, waits included.
    public let totalLatency: Duration
}
