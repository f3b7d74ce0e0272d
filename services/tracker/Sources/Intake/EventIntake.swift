import BeaconCore
import Foundation
import HTTPTypes
import Hummingbird
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

    static let success = ByteBuffer(string: #"{"success":true}"#)
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    /// Segment single-event endpoints (`type` set) and /v1/batch (`type` nil).
    func handle(_ request: Request, context: TrackerRequestContext, type: EventType?) async throws(IntakeError) -> Response {
        try checkMediaType(request)
        let body = try await collectBody(request)
        guard case .object(let payload) = try parse(body) else {
            throw IntakeError.invalidBody("the body must be a JSON object")
        }
        let writeKey = try writeKey(request, payload: payload)
        guard let app = writeKeys.app(for: writeKey) else { throw IntakeError.unauthorized("unknown write key") }
        if let origin = request.headers[.origin], !origins.allows(origin, app: app) {
            throw IntakeError.originNotAllowed("pages from \(origin) may not send this app's events (cors.\(app).allowedOrigins)")
        }
        let facts = requestFacts(request, context: context, writeKey: writeKey, app: app)
        let read = try reader.read(payload, type: type, size: body.readableBytes, facts: facts)
        if !read.rejected.isEmpty { metrics.rejected(.invalidEvent, count: read.rejected.count) }
        let admitted = try admission.admit(read.events, app: app)
        try await submitter.store(admitted)
        metrics.accepted(app: app, count: admitted.count)
        if read.rejected.isEmpty {
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: Self.success))
        }
        let summary: JSONValue = ["success": true, "accepted": .integer(Int64(admitted.count)), "rejected": .array(read.rejected)]
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(summary))))
    }

    func requestFacts(_ request: Request, context: TrackerRequestContext, writeKey: String, app: String) -> EventStamper.RequestFacts {
        EventStamper.RequestFacts(
            writeKey: writeKey,
            app: app,
            receivedAt: Timestamp.iso8601(Date()),
            ip: clientAddress.resolve(peer: context.peerAddress, forwardedFor: request.headers[Self.forwardedFor]),
            userAgent: request.headers[.userAgent]
        )
    }

    private func checkMediaType(_ request: Request) throws(IntakeError) {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        // text/plain is what navigator.sendBeacon sends for JSON.
        guard contentType.hasPrefix("application/json") || contentType.hasPrefix("text/plain") else {
            throw IntakeError.unsupportedMediaType(
                contentType.isEmpty ? "Content-Type is missing; send application/json"
                    : "Content-Type \(contentType) is not supported; send application/json")
        }
    }

    private func collectBody(_ request: Request) async throws(IntakeError) -> ByteBuffer {
        let encoding = try ContentEncoding(header: request.headers[.contentEncoding])
        return try encoding.decode(try await collectRawBody(request), limit: limits.maxRequestBytes)
    }

    private func collectRawBody(_ request: Request) async throws(IntakeError) -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limits.maxRequestBytes {
            throw IntakeError.tooLarge("request is \(length) bytes; the limit is \(limits.maxRequestBytes)")
        }
        do {
            return try await request.body.collect(upTo: limits.maxRequestBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw IntakeError.tooLarge("request is larger than \(limits.maxRequestBytes) bytes")
        } catch {
            throw IntakeError.invalidBody("the body could not be read: \(error)")
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

    private func writeKey(_ request: Request, payload: JSONObject) throws(IntakeError) -> String {
        if let key = BasicAuth.username(fromHeader: request.headers[.authorization]) { return key }
        if case .string(let key)? = payload["writeKey"], !key.isEmpty { return key }
        throw IntakeError.unauthorized("no write key: send it as the HTTP Basic username or as \"writeKey\" in the body")
    }
}
