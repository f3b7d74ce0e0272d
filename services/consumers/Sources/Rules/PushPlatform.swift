/// Where a push goes: APNs for iOS devices, FCM for Android ones.
public enum PushPlatform: String, Sendable, CaseIterable, Codable {
    case ios
    case android

    /// The Kafka topic its push requests are written to.
    public var topic: String {
        switch self {
        case .ios: "beacon.push.apns"
        case .android: "beacon.push.fcm"
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

/// APNs 10 / FCM HIGH, or APNs 5 / FCM NORMAL.
public enum PushPriority: String, Sendable, CaseIterable, Codable {
    case high
    case normal
}
