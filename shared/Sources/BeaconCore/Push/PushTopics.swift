/// The `kafka.<service>Topic` keys that name each platform's push-request
/// topic, read the same way by the consumers (who write them) and the
/// pusher (who reads them).
public enum PushTopics {
    public static let settings: [PushPlatform: Setting<String>] = [
        .ios: Setting("kafka.apnsTopic", default: PushPlatform.ios.topic, "push requests for iOS devices"),
        .android: Setting("kafka.fcmTopic", default: PushPlatform.android.topic, "push requests for Android devices"),
    ]

    /// In `PushPlatform.allCases` order, for `--help` and the README.
    public static var descriptions: [any SettingDescription] { PushPlatform.allCases.compactMap { settings[$0] } }

    public static func read(_ reader: SettingsReader) throws(SettingsError) -> [PushPlatform: String] {
        var topics: [PushPlatform: String] = [:]
        for platform in PushPlatform.allCases {
            topics[platform] = try settings[platform].map { setting throws(SettingsError) in try reader(setting) } ?? platform.topic
        }
        return topics
    }
}
