import BeaconCore

/// What a push action produces for one event, before it is addressed to a
/// device: the same for every device of the user. Empty texts are left out.
public struct RenderedPush: Sendable, Equatable {
    public var title: String?
    public var body: String?
    /// Custom data; FCM wants strings, so everything is text.
    public var data: [String: String]
    public var sound: String?
    public var badge: Int?
    public var collapseKey: String?
    public var priority: PushPriority
    /// Seconds the push service may keep trying; nil: its default.
    public var ttl: Int?

    public init(title: String? = nil, body: String? = nil, data: [String: String] = [:], sound: String? = nil,
                badge: Int? = nil, collapseKey: String? = nil, priority: PushPriority = .high, ttl: Int? = nil) {
        self.title = title
        self.body = body
        self.data = data
        self.sound = sound
        self.badge = badge
        self.collapseKey = collapseKey
        self.priority = priority
        self.ttl = ttl
    }

    /// The push request for one device (BeaconCore's `PushRequest`, what the
    /// pusher reads from `platform.topic`).
    public func pushRequest(requestId: String, app: String, platform: PushPlatform, token: String, userId: String?,
                            sourceMessageId: String?, rule: String, createdAt: String) -> PushRequest {
        PushRequest(requestId: requestId, app: app, platform: platform.rawValue, token: token, userId: userId,
                    sourceMessageId: sourceMessageId, rule: rule, title: title, body: body, data: data, sound: sound,
                    badge: badge, collapseKey: collapseKey, priority: priority == .high ? .high : .normal,
                    ttlSeconds: ttl, createdAt: createdAt)
    }
}
