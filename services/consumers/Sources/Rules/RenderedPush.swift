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

    /// `{"title":…,"body":…,"data":{…},"sound":…,"badge":N,"collapseKey":…,"priority":"high","ttlSeconds":N}` (the field names of BeaconCore's `PushRequest`),
    /// absent values left out, data keys sorted (so equal pushes encode equally).
    public var json: JSONValue {
        .object(jsonObject)
    }

    public var jsonObject: JSONObject {
        var object = JSONObject()
        if let title { object["title"] = .string(title) }
        if let body { object["body"] = .string(body) }
        if !data.isEmpty {
            object["data"] = .object(JSONObject(data.sorted { $0.key < $1.key }.map { (key: $0.key, value: JSONValue.string($0.value)) }))
        }
        if let sound { object["sound"] = .string(sound) }
        if let badge { object["badge"] = .integer(Int64(badge)) }
        if let collapseKey { object["collapseKey"] = .string(collapseKey) }
        object["priority"] = .string(priority.rawValue)
        if let ttl { object["ttlSeconds"] = .integer(Int64(ttl)) }
        return object
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

    /// Reads what `json` wrote (for the pusher side and for tests).
    public init?(json: JSONValue) {
        guard case .object(let object) = json else { return nil }
        self.title = object["title"]?.stringValue
        self.body = object["body"]?.stringValue
        var data: [String: String] = [:]
        for entry in object["data"]?.objectValue?.entries ?? [] {
            if let text = Template.text(of: entry.value) { data[entry.key] = text }
        }
        self.data = data
        self.sound = object["sound"]?.stringValue
        self.badge = object["badge"]?.doubleValue.flatMap { Int(exactly: $0) }
        self.collapseKey = object["collapseKey"]?.stringValue
        self.priority = object["priority"]?.stringValue.flatMap(PushPriority.init(rawValue:)) ?? .high
        self.ttl = object["ttlSeconds"]?.doubleValue.flatMap { Int(exactly: $0) }
    }
}
