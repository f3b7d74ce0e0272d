import BeaconCore
import Foundation
import HTTPTypes
import NIOCore

/// Turns an HTTP request into stamped events on the queue, with the cheap
/// checks only (media type, size, well-formed JSON, write key). Schema
/// validation is the enricher's job, so a bad field never costs a request.
struct EventIntake: Sendable {
    let writeKeys: WriteKeys
    let reader: PayloadReader
    let clientAddress: ClientAddress
    var origins = AllowedOrigins([:])
    let admission: EventAdmission
    let submitter: EventSubmitter
    let metrics: TrackerMetrics

    var limits: IntakeLimits { reader.limits }

    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    /// What a request brought that passed every check: the events to queue,
    /// and how to answer once Redis has them.
    struct Accepted {
        let app: String
        let events: AdmittedEvents
        /// `{"index", "error"}` for each event of a batch that was not taken.
        let rejected: [JSONValue]
        /// The pixel answers a GIF; everything else JSON.
        var answersWithPixel = false

        var response: IntakeResponse {
            if answersWithPixel { return .pixel }
            if rejected.isEmpty { return .success }
            let summary: JSONValue = ["success": true, "accepted": .integer(Int64(events.count)), "rejected": .array(rejected)]
            return IntakeResponse(status: .ok, json: summary)
        }
    }

    /// Segment single-event endpoints (`type` set) and /v1/batch (`type` nil):
    /// every check short of Redis, on the caller's thread.
    func accept(_ request: IntakeRequest, type: EventType?) throws(IntakeError) -> Accepted {
        try checkMediaType(request)
        let body = try ContentEncoding(header: request.header(.contentEncoding)).decode(request.body, limit: limits.maxRequestBytes)
        guard case .object(let payload) = try parse(body) else {
            throw IntakeError.invalidBody("the body must be a JSON object")
        }
        let writeKey = try writeKey(request, payload: payload)
        let app = try app(for: writeKey, request: request)
        let facts = requestFacts(request, writeKey: writeKey, app: app)
        let read = try reader.read(payload, type: type, size: body.readableBytes, facts: facts)
        if !read.rejected.isEmpty { metrics.rejected(.invalidEvent, count: read.rejected.count) }
        return Accepted(app: app, events: try admission.admit(read.events, app: app, writeKey: writeKey), rejected: read.rejected)
    }

    /// The app a write key belongs to, if the request's page may send for it.
    func app(for writeKey: String, request: IntakeRequest) throws(IntakeError) -> String {
        guard let app = writeKeys.app(for: writeKey) else { throw IntakeError.unauthorized("unknown write key") }
        if let origin = request.header(.origin), !origins.allows(origin, app: app) {
            throw IntakeError.originNotAllowed("pages from \(origin) may not send this app's events (cors.\(app).allowedOrigins)")
        }
        return app
    }

    func requestFacts(_ request: IntakeRequest, writeKey: String, app: String) -> EventStamper.RequestFacts {
        EventStamper.RequestFacts(
            writeKey: writeKey,
            app: app,
            receivedAt: Timestamp.iso8601(Date()),
            ip: clientAddress.resolve(peer: request.peer, forwardedFor: request.header(Self.forwardedFor)),
            userAgent: request.header(.userAgent)
        )
    }

    private func checkMediaType(_ request: IntakeRequest) throws(IntakeError) {
        let contentType = request.header(.contentType)?.lowercased() ?? ""
        // text/plain is what navigator.sendBeacon sends for JSON.
        guard contentType.hasPrefix("application/json") || contentType.hasPrefix("text/plain") else {
            throw IntakeError.unsupportedMediaType(
                contentType.isEmpty ? "Content-Type is missing; send application/json"
                    : "Content-Type \(contentType) is not supported; send application/json")
        }
    }

    private func parse(_ body: ByteBuffer) throws(IntakeError) -> JSONValue {
        guard body.readableBytes > 0 else { throw IntakeError.invalidJSON("the body is empty") }
        do {
            return try JSONParser.parse(body.readableBytesView)
        } catch {
            throw IntakeError.invalidJSON("malformed JSON: \(error)")
        }
    }

    private func writeKey(_ request: IntakeRequest, payload: JSONObject) throws(IntakeError) -> String {
        if let key = BasicAuth.username(fromHeader: request.header(.authorization)) { return key }
        if case .string(let key)? = payload["writeKey"], !key.isEmpty { return key }
        throw IntakeError.unauthorized("no write key: send it as the HTTP Basic username or as \"writeKey\" in the body")
    }
}
