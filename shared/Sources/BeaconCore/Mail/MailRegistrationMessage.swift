/// One change to a mailbox registration: what the tracker writes to its
/// mail stream (`redis.mailStream`), what the enricher forwards verbatim to
/// `beacon.mail.registrations` keyed by `registrationId` (so every change to
/// one registration lands on one partition, in order), and what the pinger
/// reads. The account is only ever here sealed (see `MailSealing`).
///
/// On the stream and the topic it is one JSON object with a `type` of
/// `register`, `defer` or `stop`:
///
///     {"type":"register","registrationId":"…","app":"…",
///      "device":{"token":"…","type":"ios"},"account":{"sealed":"v1.…"},
///      "notification":{"alert":"New mail","silent":false,"count":true},
///      "expiresAt":"…","receivedAt":"…"}
///     {"type":"defer","registrationId":"…","app":"…","until":"…","receivedAt":"…"}
///     {"type":"stop","registrationId":"…","app":"…","receivedAt":"…"}
public enum MailRegistrationMessage: Sendable, Equatable {
    case register(MailRegistration)
    /// The app is in the foreground: no pushes until `until` (ISO 8601).
    case pause(registrationId: String, app: String, until: String, receivedAt: String)
    case stop(registrationId: String, app: String, receivedAt: String)

    public var registrationId: String {
        switch self {
        case .register(let registration): registration.registrationId
        case .pause(let id, _, _, _), .stop(let id, _, _): id
        }
    }

    public var app: String {
        switch self {
        case .register(let registration): registration.app
        case .pause(_, let app, _, _), .stop(_, let app, _): app
        }
    }

    public var json: JSONValue {
        switch self {
        case .register(let registration):
            return registration.json
        case .pause(let id, let app, let until, let receivedAt):
            return .object(JSONObject(pairs: [
                ("type", .string("defer")), ("registrationId", .string(id)), ("app", .string(app)), ("until", .string(until)),
                ("receivedAt", .string(receivedAt)),
            ]))
        case .stop(let id, let app, let receivedAt):
            return .object(JSONObject(pairs: [
                ("type", .string("stop")), ("registrationId", .string(id)), ("app", .string(app)), ("receivedAt", .string(receivedAt)),
            ]))
        }
    }

    /// Reads a message from the topic; a permanent error for anything else.
    public init(json: JSONValue) throws(ServiceError) {
        guard let type = json["type"]?.stringValue, let id = json["registrationId"]?.stringValue, !id.isEmpty,
              let app = json["app"]?.stringValue
        else { throw .permanent("a mail registration message needs type, registrationId and app") }
        let receivedAt = json["receivedAt"]?.stringValue ?? ""
        switch type {
        case "register": self = .register(try MailRegistration(json: json))
        case "defer":
            guard let until = json["until"]?.stringValue else { throw .permanent("a defer needs until") }
            self = .pause(registrationId: id, app: app, until: until, receivedAt: receivedAt)
        case "stop": self = .stop(registrationId: id, app: app, receivedAt: receivedAt)
        default: throw .permanent("unknown mail registration message type \(type)")
        }
    }
}

/// A device's registration of one mailbox, as the pinger stores it.
public struct MailRegistration: Sendable, Equatable {
    public var registrationId: String
    public var app: String
    public var deviceToken: String
    public var platform: PushPlatform
    /// The account (host, port, tls, username, password or xoauth2, mailbox)
    /// as JSON, sealed to the pinger's key for `app`.
    public var sealedAccount: String
    public var notification: MailNotification
    public var expiresAt: String
    public var receivedAt: String

    public init(
        registrationId: String, app: String, deviceToken: String, platform: PushPlatform, sealedAccount: String,
        notification: MailNotification, expiresAt: String, receivedAt: String
    ) {
        self.registrationId = registrationId
        self.app = app
        self.deviceToken = deviceToken
        self.platform = platform
        self.sealedAccount = sealedAccount
        self.notification = notification
        self.expiresAt = expiresAt
        self.receivedAt = receivedAt
    }

    public init(json: JSONValue) throws(ServiceError) {
        guard let id = json["registrationId"]?.stringValue, let app = json["app"]?.stringValue,
              let token = json["device"]?["token"]?.stringValue, let type = json["device"]?["type"]?.stringValue,
              let sealed = json["account"]?["sealed"]?.stringValue, let expiresAt = json["expiresAt"]?.stringValue
        else { throw .permanent("a mail registration needs registrationId, app, device.token, device.type, account.sealed and expiresAt") }
        guard let platform = PushPlatform(deviceType: type) else { throw .permanent("device.type \(type) has no push platform") }
        self.init(
            registrationId: id, app: app, deviceToken: token, platform: platform, sealedAccount: sealed,
            notification: MailNotification(json: json["notification"] ?? .null), expiresAt: expiresAt,
            receivedAt: json["receivedAt"]?.stringValue ?? "")
    }

    public var json: JSONValue {
        .object(JSONObject(pairs: [
            ("type", .string("register")), ("registrationId", .string(registrationId)), ("app", .string(app)),
            ("device", .object(JSONObject(pairs: [("token", .string(deviceToken)), ("type", .string(platform.rawValue))]))),
            ("account", .object(JSONObject(pairs: [("sealed", .string(sealedAccount))]))),
            ("notification", notification.json), ("expiresAt", .string(expiresAt)), ("receivedAt", .string(receivedAt)),
        ]))
    }
}

/// What a new-mail push says. By default only that there is new mail;
/// subject and sender are never read.
public struct MailNotification: Sendable, Equatable {
    /// The alert text; nil with `silent`.
    public var alert: String?
    /// A background push (content-available / data only) instead of an alert.
    public var silent: Bool
    /// Whether the push carries how many new messages arrived.
    public var count: Bool

    public init(alert: String? = "New mail", silent: Bool = false, count: Bool = false) {
        self.alert = alert
        self.silent = silent
        self.count = count
    }

    public init(json: JSONValue) {
        let silent = json["silent"] == .bool(true)
        self.init(alert: silent ? nil : json["alert"]?.stringValue ?? "New mail", silent: silent, count: json["count"] == .bool(true))
    }

    public var json: JSONValue {
        var object = JSONObject(pairs: [("silent", .bool(silent)), ("count", .bool(count))])
        if let alert { object["alert"] = .string(alert) }
        return .object(object)
    }
}
