import BeaconCore
import Foundation

/// What one event tells about a push device: its token and platform, whose
/// it is now, and what the app said about it.
public struct DeviceSighting: Sendable, Equatable {
    public var app: String
    public var token: String
    public var platform: PushPlatform
    public var userId: String?
    public var anonymousId: String?
    public var locale: String?
    public var timezone: String?
    public var appVersion: String?
    public var geo: JSONValue?
    public var seenAt: Date
    /// Set by `Push Opt In` / `Push Opt Out`; nil leaves it as it is.
    public var pushEnabled: Bool?

    public init(
        app: String, token: String, platform: PushPlatform, userId: String? = nil, anonymousId: String? = nil, locale: String? = nil,
        timezone: String? = nil, appVersion: String? = nil, geo: JSONValue? = nil, seenAt: Date, pushEnabled: Bool? = nil
    ) {
        self.app = app
        self.token = token
        self.platform = platform
        self.userId = userId
        self.anonymousId = anonymousId
        self.locale = locale
        self.timezone = timezone
        self.appVersion = appVersion
        self.geo = geo
        self.seenAt = seenAt
        self.pushEnabled = pushEnabled
    }

    /// nil when the event carries no push token of a known platform.
    public init?(event: JSONValue) {
        guard let app = event["app"]?.stringValue,
              let token = event["context"]?["device"]?["token"]?.stringValue, !token.isEmpty,
              let type = event["context"]?["device"]?["type"]?.stringValue, let platform = PushPlatform(deviceType: type)
        else { return nil }
        var pushEnabled: Bool?
        if event["type"]?.stringValue == "track" {
            switch event["event"]?.stringValue {
            case "Push Opt Out": pushEnabled = false
            case "Push Opt In": pushEnabled = true
            default: pushEnabled = nil
            }
        }
        self.init(
            app: app, token: token, platform: platform, userId: event["userId"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
            anonymousId: event["anonymousId"]?.stringValue, locale: event["context"]?["locale"]?.stringValue,
            timezone: event["context"]?["timezone"]?.stringValue, appVersion: event["context"]?["app"]?["version"]?.stringValue,
            geo: event["enrichment"]?["geo"], seenAt: event["receivedAt"]?.stringValue.flatMap(Timestamp.parse) ?? Date(),
            pushEnabled: pushEnabled)
    }
}
