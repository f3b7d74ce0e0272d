/// One outbound HTTP call Beacon owes a partner: the one representation of a
/// webhook from whoever asks for it (a rule's action, a postback job at the
/// tracker) to the delivery worker that makes it. It travels on
/// `beacon.webhooks`, keyed by `id`.
///
/// `id` is deterministic (the same event, rule and action, or the same job
/// and object, give the same id): it is the Standard Webhooks `webhook-id`,
/// so a request delivered twice after a crash carries the same id both times
/// and the receiver can drop the second.
public struct WebhookRequest: Sendable, Equatable {
    /// Who asked for the call: retraced in the delivery log.
    public enum Source: Sendable, Equatable {
        /// A rule's webhook action for the event `messageId`.
        case rule(name: String, messageId: String)
        /// Object `index` (from 0) of postback job `jobId`.
        case postback(jobId: String, index: Int)

        public var kind: String {
            switch self {
            case .rule: "rule"
            case .postback: "postback"
            }
        }
    }

    public struct Header: Sendable, Equatable {
        public let name: String
        public let value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public var id: String
    public var app: String
    public var source: Source
    /// GET, POST, PUT, PATCH, DELETE (or HEAD, OPTIONS for postbacks).
    public var method: String
    /// http or https; whether its host is public is checked at delivery.
    public var url: String
    public var headers: [Header]
    /// UTF-8 text (JSON or a template's output); nil: no body.
    public var body: String?
    /// Which entry of `webhooks.signingSecrets` signs it; nil: the app's.
    public var signingKey: String?
    public var createdAt: String

    public init(
        id: String, app: String, source: Source, method: String, url: String, headers: [Header] = [], body: String? = nil,
        signingKey: String? = nil, createdAt: String
    ) {
        self.id = id
        self.app = app
        self.source = source
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.signingKey = signingKey
        self.createdAt = createdAt
    }

    /// The secrets' name in `webhooks.signingSecrets`.
    public var signingName: String { signingKey ?? app }

    public var json: JSONValue {
        var object = JSONObject(pairs: [
            ("id", .string(id)), ("app", .string(app)), ("source", .string(source.kind)),
        ])
        switch source {
        case .rule(let name, let messageId):
            object["rule"] = .string(name)
            object["messageId"] = .string(messageId)
        case .postback(let jobId, let index):
            object["jobId"] = .string(jobId)
            object["index"] = .integer(Int64(index))
        }
        object["method"] = .string(method)
        object["url"] = .string(url)
        object["headers"] = .array(headers.map { .array([.string($0.name), .string($0.value)]) })
        if let body { object["body"] = .string(body) }
        if let signingKey { object["signingKey"] = .string(signingKey) }
        object["createdAt"] = .string(createdAt)
        return .object(object)
    }

    /// Reads a request from its topic; a permanent error for what is not one
    /// (no retry can make it one).
    public init(json: JSONValue) throws(ServiceError) {
        func string(_ key: String) -> String? { json[key]?.stringValue }
        guard let id = string("id"), !id.isEmpty, let app = string("app"), let method = string("method"), let url = string("url") else {
            throw .permanent("a webhook request needs id, app, method and url")
        }
        let source: Source
        switch string("source") {
        case "rule": source = .rule(name: string("rule") ?? "", messageId: string("messageId") ?? "")
        case "postback":
            source = .postback(jobId: string("jobId") ?? "", index: json["index"]?.doubleValue.map { Int($0) } ?? 0)
        default: throw .permanent("a webhook request's source must be rule or postback")
        }
        var headers: [Header] = []
        if case .array(let pairs)? = json["headers"] {
            for pair in pairs {
                guard case .array(let parts) = pair, parts.count == 2, let name = parts[0].stringValue, let value = parts[1].stringValue else {
                    throw .permanent("a webhook request's headers are [name, value] pairs")
                }
                headers.append(Header(name: name, value: value))
            }
        }
        self.init(
            id: id, app: app, source: source, method: method, url: url, headers: headers, body: string("body"),
            signingKey: string("signingKey"), createdAt: string("createdAt") ?? "")
    }

    /// The first header of that name (names compare without regard to case).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}
