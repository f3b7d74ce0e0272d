/// One notification for one device, as the consumers write it to
/// `beacon.push.apns` or `beacon.push.fcm` (keyed by token) and the pusher
/// reads it. The pusher reports its fate on `beacon.push.feedback` under the
/// same `requestId`.
public struct PushRequest: Sendable, Equatable {
    public enum Priority: String, Sendable { case high, normal }

    public var requestId: String
    public var app: String
    /// "ios" or "android".
    public var platform: String
    public var token: String
    public var userId: String?
    /// The event that caused it, and the rule that turned it into a push.
    public var sourceMessageId: String?
    public var rule: String?
    public var title: String?
    public var body: String?
    public var data: [String: String]
    public var sound: String?
    public var badge: Int?
    public var collapseKey: String?
    public var priority: Priority
    public var ttlSeconds: Int?
    public var createdAt: String

    public init(
        requestId: String, app: String, platform: String, token: String, userId: String? = nil, sourceMessageId: String? = nil,
        rule: String? = nil, title: String? = nil, body: String? = nil, data: [String: String] = [:], sound: String? = nil,
        badge: Int? = nil, collapseKey: String? = nil, priority: Priority = .high, ttlSeconds: Int? = nil, createdAt: String
    ) {
        self.requestId = requestId
        self.app = app
        self.platform = platform
        self.token = token
        self.userId = userId
        self.sourceMessageId = sourceMessageId
        self.rule = rule
        self.title = title
        self.body = body
        self.data = data
        self.sound = sound
        self.badge = badge
        self.collapseKey = collapseKey
        self.priority = priority
        self.ttlSeconds = ttlSeconds
        self.createdAt = createdAt
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    public init(json: JSONValue) throws(Invalid) {
        func string(_ key: String) -> String? { json[key]?.stringValue }
        guard let requestId = string("requestId"), let app = string("app"), let platform = string("platform"),
              let token = string("token"), !token.isEmpty
        else { throw Invalid(description: "a push request needs requestId, app, platform and token") }
        guard platform == "ios" || platform == "android" else { throw Invalid(description: "platform must be ios or android, not \(platform)") }
        var data: [String: String] = [:]
        for entry in json["data"]?.objectValue?.entries ?? [] {
            data[entry.key] = entry.value.stringValue ?? JSONWriter.string(entry.value)
        }
        self.init(
            requestId: requestId, app: app, platform: platform, token: token, userId: string("userId"),
            sourceMessageId: string("sourceMessageId"), rule: string("rule"), title: string("title"), body: string("body"),
            data: data, sound: string("sound"), badge: json["badge"]?.doubleValue.map { Int($0) }, collapseKey: string("collapseKey"),
            priority: string("priority").flatMap(Priority.init(rawValue:)) ?? .high,
            ttlSeconds: json["ttlSeconds"]?.doubleValue.map { Int($0) }, createdAt: string("createdAt") ?? ""
        )
    }

    public var json: JSONValue {
        var object: JSONObject = [
            "requestId": .string(requestId), "app": .string(app), "platform": .string(platform), "token": .string(token),
        ]
        if let userId { object["userId"] = .string(userId) }
        if let sourceMessageId { object["sourceMessageId"] = .string(sourceMessageId) }
        if let rule { object["rule"] = .string(rule) }
        if let title { object["title"] = .string(title) }
        if let body { object["body"] = .string(body) }
        if !data.isEmpty {
            object["data"] = .object(JSONObject(data.sorted { $0.key < $1.key }.map { (key: $0.key, value: JSONValue.string($0.value)) }))
        }
        if let sound { object["sound"] = .string(sound) }
        if let badge { object["badge"] = .integer(Int64(badge)) }
        if let collapseKey { object["collapseKey"] = .string(collapseKey) }
        object["priority"] = .string(priority.rawValue)
        if let ttlSeconds { object["ttlSeconds"] = .integer(Int64(ttlSeconds)) }
        object["createdAt"] = .string(createdAt)
        return .object(object)
    }
}
