import BeaconCore

/// What a webhook action produces for one event: a request ready to send
/// (after the sender's own checks, such as refusing private addresses).
public struct RenderedWebhook: Sendable, Equatable {
    /// The one header type of a webhook, from the rule to the call.
    public typealias Header = WebhookRequest.Header

    public var url: String
    /// GET, POST, PUT, PATCH or DELETE.
    public var method: String
    /// In file order; includes `Content-Type` when there is a body (unless the rule set its own).
    public var headers: [Header]
    /// Nil: no body.
    public var body: [UInt8]?

    public init(url: String, method: String, headers: [Header], body: [UInt8]?) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
    }

    /// The first header of that name (names compare without regard to case).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The headers as a dictionary (names as written; the rules file cannot
    /// hold two headers whose names differ only in case).
    public var headerDictionary: [String: String] {
        Dictionary(headers.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    public var bodyText: String? { body.map { String(decoding: $0, as: UTF8.self) } }
}
