/// One notification for one device: the one representation of a push from
/// the rule that makes it to the pusher that sends it. The consumers write
/// it to `platform.topic` (keyed by token), the pusher reads it and reports
/// its fate on `beacon.push.feedback` under the same `requestId`.
///
/// On the topic it is one flat JSON object: the addressing fields, then the
/// notification's (`title`, `body`, `data`, `sound`, `badge`, `collapseKey`,
/// `priority`, `ttlSeconds`), then `createdAt`.
public struct PushRequest: Sendable, Equatable {
    /// The same event, rule, action and device give the same id, so a request
    /// repeated after a crash is recognisable downstream.
    public var requestId: String
    public var app: String
    public var platform: PushPlatform
    public var token: String
    public var userId: String?
    /// The event that caused it, and the rule that turned it into a push.
    public var sourceMessageId: String?
    public var rule: String?
    public var notification: PushNotification
    public var createdAt: String

    public init(
        requestId: String, app: String, platform: PushPlatform, token: String, userId: String? = nil,
        sourceMessageId: String? = nil, rule: String? = nil, notification: PushNotification, createdAt: String
    ) {
        self.requestId = requestId
        self.app = app
        self.platform = platform
        self.token = token
        self.userId = userId
        self.sourceMessageId = sourceMessageId
        self.rule = rule
        self.notification = notification
        self.createdAt = createdAt
    }

    /// Reads a request from its topic; throws a permanent error for one that
    /// is not a push request (no retry can make it one).
    public init(json: JSONValue) throws(ServiceError) {
        func string(_ key: String) -> String? { json[key]?.stringValue }
        guard let requestId = string("requestId"), let app = string("app"), let platformName = string("platform"),
              let token = string("token"), !token.isEmpty
        else { throw .permanent("a push request needs requestId, app, platform and token") }
        guard let platform = PushPlatform(rawValue: platformName) else {
            let known = PushPlatform.allCases.map(\.rawValue).joined(separator: " or ")
            throw .permanent("platform must be \(known), not \(platformName)")
        }
        var data: [String: String] = [:]
        for entry in json["data"]?.objectValue?.entries ?? [] {
            data[entry.key] = entry.value.stringValue ?? JSONWriter.string(entry.value)
        }
        let notification = PushNotification(
            title: string("title"), body: string("body"), data: data, sound: string("sound"),
            badge: json["badge"]?.doubleValue.map { Int($0) }, collapseKey: string("collapseKey"),
            priority: string("priority").flatMap(PushPriority.init(rawValue:)) ?? .high,
            ttlSeconds: json["ttlSeconds"]?.doubleValue.map { Int($0) })
        self.init(
            requestId: requestId, app: app, platform: platform, token: token, userId: string("userId"),
            sourceMessageId: string("sourceMessageId"), rule: string("rule"), notification: notification,
            createdAt: string("createdAt") ?? "")
    }

    public var json: JSONValue {
        var object: JSONObject = [
            "requestId": .string(requestId), "app": .string(app), "platform": .string(platform.rawValue), "token": .string(token),
        ]
        if let userId { object["userId"] = .string(userId) }
        if let sourceMessageId { object["sourceMessageId"] = .string(sourceMessageId) }
        if let rule { object["rule"] = .string(rule) }
        if let title = notification.title { object["title"] = .string(title) }
        if let body = notification.body { object["body"] = .string(body) }
        if !notification.data.isEmpty {
            object["data"] = .object(JSONObject(notification.data.sorted { $0.key < $1.key }.map { (key: $0.key, value: JSONValue.string($0.value)) }))
        }
        if let sound = notification.sound { object["sound"] = .string(sound) }
        if let badge = notification.badge { object["badge"] = .integer(Int64(badge)) }
        if let collapseKey = notification.collapseKey { object["collapseKey"] = .string(collapseKey) }
        object["priority"] = .string(notification.priority.rawValue)
        if let ttlSeconds = notification.ttlSeconds { object["ttlSeconds"] = .integer(Int64(ttlSeconds)) }
        object["createdAt"] = .string(createdAt)
        return .object(object)
    }
}
