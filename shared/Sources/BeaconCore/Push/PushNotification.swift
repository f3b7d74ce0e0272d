/// What a push shows and carries, whatever the device: a rule renders it
/// once per event, and each `PushRequest` to one of the user's devices holds it.
public struct PushNotification: Sendable, Equatable {
    public var title: String?
    public var body: String?
    /// Custom data; FCM wants strings, so everything is text.
    public var data: [String: String]
    public var sound: String?
    public var badge: Int?
    public var collapseKey: String?
    public var priority: PushPriority
    /// Seconds the push service may keep trying; nil: its default.
    public var ttlSeconds: Int?

    public init(
        title: String? = nil, body: String? = nil, data: [String: String] = [:], sound: String? = nil, badge: Int? = nil,
        collapseKey: String? = nil, priority: PushPriority = .high, ttlSeconds: Int? = nil
    ) {
        self.title = title
        self.body = body
        self.data = data
        self.sound = sound
        self.badge = badge
        self.collapseKey = collapseKey
        self.priority = priority
        self.ttlSeconds = ttlSeconds
    }

    /// No alert, no sound, no badge: a background (content-available) push.
    public var isSilent: Bool { title == nil && body == nil && sound == nil && badge == nil }
}
