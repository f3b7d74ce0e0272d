import BeaconCore

/// One FCM HTTP v1 message to one registration token
/// (the `message` of `projects.messages.send`, the parts Beacon uses).
public struct FCMMessage: Sendable, Equatable {
    public struct Notification: Sendable, Equatable {
        public var title: String?
        public var body: String?
        public var image: String?

        public init(title: String? = nil, body: String? = nil, image: String? = nil) {
            self.title = title
            self.body = body
            self.image = image
        }
    }

    public struct Android: Sendable, Equatable {
        public enum Priority: String, Sendable {
            case normal = "NORMAL"
            case high = "HIGH"
        }

        public var priority: Priority?
        public var collapseKey: String?
        /// How long FCM keeps the message while the device is offline; zero means "now or never".
        public var ttl: Duration?
        public var sound: String?
        public var channelId: String?
        public var tag: String?
        public var clickAction: String?
        public var icon: String?
        public var color: String?

        public init(
            priority: Priority? = nil, collapseKey: String? = nil, ttl: Duration? = nil, sound: String? = nil,
            channelId: String? = nil, tag: String? = nil, clickAction: String? = nil, icon: String? = nil, color: String? = nil
        ) {
            self.priority = priority
            self.collapseKey = collapseKey
            self.ttl = ttl
            self.sound = sound
            self.channelId = channelId
            self.tag = tag
            self.clickAction = clickAction
            self.icon = icon
            self.color = color
        }
    }

    public var token: String
    public var notification: Notification?
    /// Delivered to the app as is; FCM accepts only string values.
    public var data: [String: String]
    public var android: Android?
    /// Passed through as `message.apns` (headers and payload) for iOS devices registered with FCM.
    public var apns: JSONValue?
    /// Passed through as `message.webpush`.
    public var webpush: JSONValue?
    /// `fcm_options.analytics_label`.
    public var analyticsLabel: String?

    public init(
        token: String, notification: Notification? = nil, data: [String: String] = [:], android: Android? = nil,
        apns: JSONValue? = nil, webpush: JSONValue? = nil, analyticsLabel: String? = nil
    ) {
        self.token = token
        self.notification = notification
        self.data = data
        self.android = android
        self.apns = apns
        self.webpush = webpush
        self.analyticsLabel = analyticsLabel
    }

    /// The `message` object, in FCM's JSON field names.
    public var json: JSONValue {
        var message: JSONObject = ["token": .string(token)]
        if let notification {
            var object = JSONObject()
            object["title"] = notification.title.map(JSONValue.string)
            object["body"] = notification.body.map(JSONValue.string)
            object["image"] = notification.image.map(JSONValue.string)
            message["notification"] = .object(object)
        }
        if !data.isEmpty {
            message["data"] = .object(JSONObject(pairs: data.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))
        }
        if let android {
            var object = JSONObject()
            object["collapse_key"] = android.collapseKey.map(JSONValue.string)
            object["priority"] = android.priority.map { .string($0.rawValue) }
            object["ttl"] = android.ttl.map { .string(Self.durationString($0)) }
            var notification = JSONObject()
            notification["sound"] = android.sound.map(JSONValue.string)
            notification["channel_id"] = android.channelId.map(JSONValue.string)
            notification["tag"] = android.tag.map(JSONValue.string)
            notification["click_action"] = android.clickAction.map(JSONValue.string)
            notification["icon"] = android.icon.map(JSONValue.string)
            notification["color"] = android.color.map(JSONValue.string)
            if !notification.isEmpty { object["notification"] = .object(notification) }
            message["android"] = .object(object)
        }
        message["apns"] = apns
        message["webpush"] = webpush
        if let analyticsLabel { message["fcm_options"] = ["analytics_label": .string(analyticsLabel)] }
        return .object(message)
    }

    /// The messages:send request body.
    public func requestBody(validateOnly: Bool = false) -> JSONValue {
        var body: JSONObject = ["message": json]
        if validateOnly { body["validate_only"] = true }
        return .object(body)
    }

    /// A protobuf Duration in JSON: seconds with up to nine fractional digits and an "s", e.g. "3.5s".
    static func durationString(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let clampedSeconds = max(0, seconds)
        let nanos = seconds < 0 ? 0 : attoseconds / 1_000_000_000
        guard nanos > 0 else { return "\(clampedSeconds)s" }
        var fraction = String(nanos)
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(clampedSeconds).\(fraction)s"
    }
}
