import BeaconCore

/// A `POST /v1/postback` body, checked strictly before anything is written:
/// one endpoint (method, URL template, header and body templates) and the
/// data objects that fill it, one outbound request each. Every refusal
/// names the field.
struct PostbackJob: Sendable {
    struct Header: Sendable {
        let name: String
        let value: PostbackTemplate
    }

    static let topLevelKeys: Set<String> = ["endpoint", "data", "writeKey"]
    static let endpointKeys: Set<String> = ["method", "url", "headers", "body"]
    /// The five a partner's API takes, and the two the contract allows postbacks besides.
    static let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    /// Methods whose requests carry the data object as JSON when no body template is given.
    static let jsonBodyMethods: Set<String> = ["POST", "PUT", "PATCH"]
    /// Set by the delivery (the connection, the length, the Standard Webhooks signature), never by a job.
    static let reservedHeaders: Set<String> = [
        "host", "content-length", "transfer-encoding", "connection", "webhook-id", "webhook-timestamp", "webhook-signature",
    ]
    static let maxHeaders = 32
    static let maxHeaderValueLength = 8_192

    let method: String
    let url: PostbackURL
    let headers: [Header]
    let body: PostbackTemplate?
    let data: [JSONObject]

    init(_ payload: JSONObject, maxObjects: Int) throws(PostbackError) {
        try Self.onlyKnownKeys(payload, Self.topLevelKeys, in: nil)
        guard let endpointValue = payload["endpoint"] else {
            throw .invalid("endpoint", "endpoint is missing: send {\"method\": …, \"url\": \"https://host/path?x={key}\"}")
        }
        guard case .object(let endpoint) = endpointValue else { throw .invalid("endpoint", "endpoint must be an object") }
        try Self.onlyKnownKeys(endpoint, Self.endpointKeys, in: "endpoint")

        switch endpoint["method"] {
        case nil, .null?: method = "GET"
        case .string(let name)? where Self.methods.contains(name.uppercased()): method = name.uppercased()
        default: throw .invalid("endpoint.method", "endpoint.method must be one of \(Self.methods.joined(separator: ", "))")
        }

        guard let urlValue = endpoint["url"] else { throw .invalid("endpoint.url", "endpoint.url is missing") }
        guard case .string(let urlText) = urlValue, !urlText.isEmpty else { throw .invalid("endpoint.url", "endpoint.url must be a string") }
        do throws(PostbackTemplate.Problem) {
            url = try PostbackURL(urlText)
        } catch {
            throw .invalid("endpoint.url", "endpoint.url: \(error.reason)")
        }

        headers = try Self.headers(endpoint["headers"])

        switch endpoint["body"] {
        case nil, .null?: body = nil
        case .string(let text)?:
            guard method != "GET" && method != "HEAD" else {
                throw .invalid("endpoint.body", "a \(method) request carries no body; use POST, PUT or PATCH")
            }
            do throws(PostbackTemplate.Problem) {
                body = try PostbackTemplate(text, braces: .jsonFriendly)
            } catch {
                throw .invalid("endpoint.body", "endpoint.body: \(error.reason)")
            }
        default: throw .invalid("endpoint.body", "endpoint.body must be a template string")
        }

        guard let dataValue = payload["data"] else { throw .invalid("data", "data is missing: send an array of objects") }
        guard case .array(let items) = dataValue else { throw .invalid("data", "data must be an array of objects, not \(dataValue.typeName)") }
        guard !items.isEmpty else { throw .invalid("data", "data is empty: send at least one object") }
        guard items.count <= maxObjects else {
            throw .invalid("data", "data holds \(items.count) objects; a job may hold \(maxObjects) at most (postback.maxObjects)")
        }
        var objects: [JSONObject] = []
        objects.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            guard case .object(let object) = item else { throw .invalid("data[\(index)]", "data[\(index)] must be an object, not \(item.typeName)") }
            objects.append(object)
        }
        data = objects
    }

    private static func headers(_ value: JSONValue?) throws(PostbackError) -> [Header] {
        guard let value, value != .null else { return [] }
        guard case .object(let object) = value else { throw .invalid("endpoint.headers", "endpoint.headers must be an object of name: value") }
        guard object.count <= maxHeaders else { throw .invalid("endpoint.headers", "endpoint.headers may name \(maxHeaders) headers at most") }
        var headers: [Header] = []
        for (name, value) in object.entries {
            let field = "endpoint.headers.\(name.prefix(64))"
            guard !name.isEmpty, name.utf8.allSatisfy(isTokenByte) else { throw .invalid(field, "\(field) is not a valid header name") }
            guard !reservedHeaders.contains(name.lowercased()) else { throw .invalid(field, "\(name) is set at delivery and may not be given") }
            guard case .string(let text) = value else { throw .invalid(field, "\(field) must be a string") }
            guard text.utf8.count <= maxHeaderValueLength else { throw .invalid(field, "\(field) is longer than \(maxHeaderValueLength) bytes") }
            guard !text.unicodeScalars.contains(where: isLineBreak) else {
                throw .invalid(field, "\(field) must not hold CR, LF or NUL")
            }
            do throws(PostbackTemplate.Problem) {
                headers.append(Header(name: name, value: try PostbackTemplate(text, braces: .placeholdersOnly)))
            } catch {
                throw .invalid(field, "\(field): \(error.reason)")
            }
        }
        return headers
    }

    /// Scalars, not Characters: "\r\n" is one Character, equal to neither.
    private static func isLineBreak(_ scalar: Unicode.Scalar) -> Bool { scalar == "\r" || scalar == "\n" || scalar == "\0" }

    /// A value inserted into a header cannot start another one.
    static func strippingLineBreaks(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter { !isLineBreak($0) }))
    }

    /// RFC 9110 token characters.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    private static func onlyKnownKeys(_ object: JSONObject, _ known: Set<String>, in parent: String?) throws(PostbackError) {
        for entry in object.entries where !known.contains(entry.key) {
            let name = parent.map { "\($0).\(entry.key)" } ?? entry.key
            throw .invalid(String(name.prefix(64)), "unknown field \(name.prefix(64)); expected \(known.sorted().joined(separator: ", "))")
        }
    }

    // MARK: the requests

    /// One request per data object, `id` `<jobId>:<index>` (the same job
    /// and object always give the same id, the receiver's dedup key).
    func requests(app: String, jobId: String, createdAt: String) -> [WebhookRequest] {
        data.enumerated().map { index, object in
            var fields = headers.map { header in
                WebhookRequest.Header(name: header.name, value: header.value.render(object, encode: Self.strippingLineBreaks))
            }
            var text = body?.render(object)
            if text == nil && Self.jsonBodyMethods.contains(method) {
                text = JSONWriter.string(.object(object))
                if !fields.contains(where: { $0.name.lowercased() == "content-type" }) {
                    fields.append(WebhookRequest.Header(name: "Content-Type", value: "application/json"))
                }
            }
            return WebhookRequest(
                id: "\(jobId):\(index)", app: app, source: .postback(jobId: jobId, index: index), method: method, url: url.render(object),
                headers: fields, body: text, createdAt: createdAt)
        }
    }
}
