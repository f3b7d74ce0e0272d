import BeaconCore
import Foundation

/// A rule's `webhook` action: an HTTP request rendered from the event.
///
///     - webhook:
///         url: "https://hooks.example.com/orders/{{userId}}"   # http or https; values are percent-encoded
///         method: POST                   # GET, POST (default), PUT, PATCH, DELETE
///         headers: {Authorization: "Bearer abc", X-Event: "{{event}}"}
///         body: ...                      # text template, or a YAML mapping/list rendered as JSON;
///                                        # default: the whole event as JSON (none for GET and DELETE)
///         cap: {max: 1, per: 1h}         # optional, per rule and user
///         signingKey: partner-x          # optional: sign with webhooks.signingSecrets.partner-x, not the app's
///
/// The URL is checked here for its shape only (http/https, a host that no
/// placeholder can change); whether it points at a private address is the
/// sender's check.
public struct WebhookAction: Sendable, Equatable {
    public enum Body: Sendable, Equatable {
        /// No body.
        case none
        /// The event as received, as JSON.
        case event
        /// A text template (`Content-Type: text/plain; charset=utf-8` unless set).
        case text(Template)
        /// A JSON template (`Content-Type: application/json` unless set).
        case json(JSONTemplate)
    }

    public struct Header: Sendable, Equatable {
        public let name: String
        public let value: Template
    }

    public let url: Template
    public let method: String
    public let headers: [Header]
    public let body: Body
    public let cap: FrequencyCap?
    /// Which `webhooks.signingSecrets` entry signs it; nil: the app's.
    public let signingKey: String?

    public static let keys = ["url", "method", "headers", "body", "cap", "signingKey"]
    public static let methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    public func render(_ event: JSONValue) -> RenderedWebhook {
        var headers = self.headers.map { header in
            RenderedWebhook.Header(name: header.name, value: Self.headerSafe(header.value.render(event)))
        }
        let bytes: [UInt8]?
        let contentType: String?
        switch body {
        case .none:
            bytes = nil
            contentType = nil
        case .event:
            bytes = JSONWriter.bytes(event)
            contentType = "application/json"
        case .text(let template):
            bytes = Array(template.render(event).utf8)
            contentType = "text/plain; charset=utf-8"
        case .json(let template):
            bytes = JSONWriter.bytes(template.render(event))
            contentType = "application/json"
        }
        if let contentType, !headers.contains(where: { $0.name.lowercased() == "content-type" }) {
            headers.append(RenderedWebhook.Header(name: "Content-Type", value: contentType))
        }
        return RenderedWebhook(url: url.render(event, escaping: .urlComponent), method: method, headers: headers, body: bytes)
    }

    /// Header values come from events: no line breaks, so no header injection.
    private static func headerSafe(_ value: String) -> String {
        guard value.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else { return value }
        return String(value.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 })
    }

    // MARK: Reading from YAML

    static func parse(_ field: YAMLField, actionIndex: Int) throws(RulesFileError) -> WebhookAction {
        let map = try field.mapping(allowed: keys)
        let urlField = try map.required("url")
        let url = try urlField.template()
        try checkURL(url, urlField)

        var method = "POST"
        if let methodField = map["method"] {
            let text = try methodField.string()
            guard methods.contains(text.uppercased()) else {
                throw methodField.error("unknown method \"\(text)\" (expected " + methods.joined(separator: ", ") + ")")
            }
            method = text.uppercased()
        }

        var headers: [Header] = []
        if let headersField = map["headers"] {
            for (name, value) in try headersField.entries() {
                guard !name.isEmpty, name.unicodeScalars.allSatisfy(isTokenCharacter) else {
                    throw headersField.error("invalid header name \"\(name)\"")
                }
                guard !headers.contains(where: { $0.name.lowercased() == name.lowercased() }) else {
                    throw headersField.error("header \"\(name)\" is given twice")
                }
                let template = try value.template()
                guard !template.source.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else {
                    throw value.error("header values must be on one line")
                }
                headers.append(Header(name: name, value: template))
            }
        }

        let body: Body
        if let bodyField = map["body"] {
            guard method != "GET", method != "DELETE" else { throw bodyField.error("a \(method) request has no body") }
            switch bodyField.node {
            case .mapping, .sequence: body = .json(try JSONTemplate.parse(bodyField))
            default: body = .text(try bodyField.template())
            }
        } else {
            body = method == "GET" || method == "DELETE" ? .none : .event
        }
        let cap = try map["cap"].map { field throws(RulesFileError) in try FrequencyCap.parse(field, actionIndex: actionIndex) }
        let signingKey = try map["signingKey"].map { field throws(RulesFileError) in try field.string() }
        return WebhookAction(url: url, method: method, headers: headers, body: body, cap: cap, signingKey: signingKey)
    }

    /// http or https, a host, nothing that a placeholder could turn into
    /// another scheme, host or port.
    static func checkURL(_ url: Template, _ field: YAMLField) throws(RulesFileError) {
        let source = url.source
        guard !source.contains(where: { $0.isWhitespace }) else { throw field.error("invalid URL \"\(source)\": contains white space") }
        let first = URLComponents(string: url.render(substituting: "a"))
        let second = URLComponents(string: url.render(substituting: "b1"))
        guard let first, let second else { throw field.error("invalid URL \"\(source)\"") }
        guard let scheme = first.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw field.error("invalid URL \"\(source)\": the scheme must be http or https")
        }
        guard let host = first.host, !host.isEmpty else { throw field.error("invalid URL \"\(source)\": no host") }
        guard first.scheme == second.scheme, first.host == second.host, first.port == second.port,
              first.user == second.user, first.password == second.password
        else {
            throw field.error("invalid URL \"\(source)\": placeholders may only appear in the path, query or fragment")
        }
        guard first.user == nil, first.password == nil else {
            throw field.error("invalid URL \"\(source)\": credentials belong in headers, not in the URL")
        }
    }

    private static func isTokenCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9": true
        case "!", "#", "$", "%", "&", "'", "*", "+", "-", ".", "^", "_", "`", "|", "~": true
        default: false
        }
    }
}
