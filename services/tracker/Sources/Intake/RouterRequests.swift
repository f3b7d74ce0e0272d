import BeaconCore
import HTTPTypes
import Hummingbird

/// What the router's JSON endpoints (mail, postbacks) share with each other
/// and with the event intake: a bounded JSON object body, and the app of
/// the write key (HTTP Basic username, or `writeKey` in the body) if the
/// request's page may send for it. Each endpoint turns a `Refusal` into
/// its own error answer.
struct RouterRequests: Sendable {
    enum Refusal: Error {
        case tooLarge(String)
        case unsupportedMediaType(String)
        case invalidJSON(String)
        case unauthorized(String)
        case originNotAllowed(String)
    }

    let writeKeys: WriteKeys
    let origins: AllowedOrigins

    /// The body as a JSON object, `limit` bytes at most.
    func body(_ request: Request, limit: Int, maxDepth: Int) async throws(Refusal) -> JSONObject {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw .tooLarge("request is \(length) bytes; the limit is \(limit)")
        }
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/json") || contentType.hasPrefix("text/plain") else {
            throw .unsupportedMediaType(
                contentType.isEmpty ? "Content-Type is missing; send application/json"
                    : "Content-Type \(contentType.prefix(100)) is not supported; send application/json")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            throw .tooLarge("request is larger than \(limit) bytes")
        }
        guard buffer.readableBytes > 0 else { throw .invalidJSON("the body is empty") }
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(buffer.readableBytesView, maxDepth: maxDepth)
        } catch {
            throw .invalidJSON("malformed JSON: \(error)")
        }
        guard case .object(let object) = parsed else { throw .invalidJSON("the body must be a JSON object") }
        return object
    }

    /// The app of the write key, as for events.
    func app(_ request: Request, _ payload: JSONObject) throws(Refusal) -> String {
        let writeKey: String
        if let key = BasicAuth.username(fromHeader: request.headers[.authorization]) {
            writeKey = key
        } else if case .string(let key)? = payload["writeKey"], !key.isEmpty {
            writeKey = key
        } else {
            throw .unauthorized("no write key: send it as the HTTP Basic username or as \"writeKey\" in the body")
        }
        guard let app = writeKeys.app(for: writeKey) else { throw .unauthorized("unknown write key") }
        if let origin = request.headers[.origin], !origins.allows(origin, app: app) {
            throw .originNotAllowed("pages from \(origin.prefix(200)) may not send this app's requests (cors.\(app).allowedOrigins)")
        }
        return app
    }
}
