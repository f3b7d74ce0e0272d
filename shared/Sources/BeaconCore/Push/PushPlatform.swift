/// Where a push goes: APNs for Apple devices, FCM for Android ones. Every
/// part of Beacon spells a platform with this type (the set grows: Web Push
/// is next), and each has its own push-request topic.
public enum PushPlatform: String, Sendable, CaseIterable, Codable {
    case ios
    case android

    /// The Kafka topic its push requests are written to, by default.
    public var topic: String {
        switch self {
        case .ios: "beacon.push.apns"
        case .android: "beacon.push.fcm"
        }
    }

    /// The push service, for logs and metrics.
    public var service: String {
        switch self {
        case .ios: "APNs"
        case .android: "FCM"
        }
    }

    /// A device registry's or an SDK's name for the platform (`ios`, `iOS`,
    /// `ipados`, `apns`, `android`, `fcm`); nil for anything else.
    public init?(deviceType: String) {
        switch deviceType.lowercased() {
        case "ios", "ipados", "apns", "apple": self = .ios
        case "android", "fcm", "gcm": self = .android
        default: return nil
        }
    }
}
