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
    let limits: IntakeLimits
    let clientAddress: ClientAddress
    var origins = AllowedOrigins([:])
    let queue: EventQueue<WriteRequest>
    let writer: StreamWriter
    let metrics: TrackerMetrics
    let stamper = EventStamper()

    static let success = ByteBuffer(string: #"{"success":true}"#)
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    /// Segment single-event endpoints (`type` set) and /v1/batch (`type` nil).
    func handle(_ request: Request, context: TrackerRequestContext, type: EventType?) async throws(IntakeError) -> Response {
        try checkMediaType(request)
        let body = try await collectBody(request)
        guard case .object(var payload) = try parse(body) else {
            throw IntakeError.invalidBody("the body must be a JSON object")
        }
        let writeKey = try writeKey(request, payload: payload)
        guard let app = writeKeys.app(for: writeKey) else { throw IntakeError.unauthorized("unknown write key") }
        if let origin = request.headers[.origin], !origins.allows(origin, app: app) {
            throw IntakeError.originNotAllowed("pages from \(origin) may not send this app's events (cors.\(app).allowedOrigins)")
        }
        var facts = requestFacts(request, context: context, writeKey: writeKey, app: app)
        var events: [[UInt8]] = []
        var rejected: [JSONValue] = []
        if let type {
            guard body.readableBytes <= limits.maxEventBytes else {
                throw IntakeError.tooLarge("event is \(body.readableBytes) bytes; the limit is \(limits.maxEventBytes)")
            }
            payload["writeKey"] = nil
            stamper.stamp(&payload, type: type, facts: facts)
            events.append(JSONWriter.bytes(.object(payload)))
        } else {
            guard case .array(let batch)? = payload["batch"] else {
                throw IntakeError.invalidBody("a batch needs a \"batch\" array of events")
            }
            guard batch.count <= limits.maxBatchEvents else {
                throw IntakeError.tooLarge("batch has \(batch.count) events; the limit is \(limits.maxBatchEvents)")
            }
            facts.sharedContext = payload["context"]?.objectValue
            facts.sentAt = payload["sentAt"]
            events.reserveCapacity(batch.count)
            for (index, element) in batch.enumerated() {
                guard case .object(var event) = element else {
                    rejected.append(Self.rejection(index, "event must be a JSON object, not \(element.typeName)"))
                    continue
                }
                event["writeKey"] = nil
                let eventType = event["type"]?.stringValue.flatMap(EventType.init(rawValue:))
                stamper.stamp(&event, type: eventType, facts: facts)
                let bytes = JSONWriter.bytes(.object(event))
                guard bytes.count <= limits.maxEventBytes else {
                    rejected.append(Self.rejection(index, "event is \(bytes.count) bytes; the limit is \(limits.maxEventBytes)"))
                    continue
                }
                events.append(bytes)
            }
            if !rejected.isEmpty { metrics.rejected(.invalidEvent, count: rejected.count) }
            if events.isEmpty {
                throw IntakeError.invalidBody(batch.isEmpty ? "the batch is empty" : "no event in the batch was acceptable")
            }
        }
        try await store(events)
        metrics.accepted(app: app, count: events.count)
        if rejected.isEmpty {
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: Self.success))
        }
        let summary: JSONValue = ["success": true, "accepted": .integer(Int64(events.count)), "rejected": .array(rejected)]
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(summary))))
    }

    /// Hands events to the Redis writer and waits until Redis has them.
    func store(_ events: [[UInt8]]) async throws(IntakeError) {
        guard !writer.isBacklogFull else {
            throw IntakeError.unavailable("the event backlog is full; retry later")
        }
        let deadline = ContinuousClock.now + limits.ackTimeout
        let outcome = await withCheckedContinuation { continuation in
            let request = WriteRequest(events: events, deadline: deadline, continuation: continuation)
            if !queue.push(request, weight: events.count) {
                request.finish(.unavailable("the tracker's buffer is full; retry later"))
            }
        }
        if case .unavailable(let reason) = outcome { throw IntakeError.unavailable(reason) }
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

    private static func rejection(_ index: Int, _ message: String) -> JSONValue {
        ["index": .integer(Int64(index)), "error": .string(message)]
    }
}
