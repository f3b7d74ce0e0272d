import BeaconCore
import Foundation
import Hummingbird
import NIOCore

/// `GET /t/{event}?wk=KEY&k=v…`: a track event from an <img> tag. Query
/// parameters become properties; `uid`, `aid` and `mid` set userId,
/// anonymousId and messageId. Answers a 1×1 transparent GIF.
struct PixelIntake: Sendable {
    let intake: EventIntake

    static let gif: [UInt8] = [
        0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xFF, 0xFF, 0xFF, 0x21, 0xF9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
    ]

    func handle(_ request: Request, context: TrackerRequestContext) async throws(IntakeError) -> Response {
        guard let name = context.parameters.get("event")?.removingPercentEncoding, !name.isEmpty else {
            throw IntakeError.invalidBody("the pixel path is /t/{event}")
        }
        var writeKey: String?
        var event: JSONObject = ["event": .string(name)]
        var properties = JSONObject()
        for (key, value) in request.uri.queryParameters {
            let key = String(key), value = String(value)
            switch key {
            case "wk", "writeKey": writeKey = value
            case "uid": event["userId"] = .string(value)
            case "aid": event["anonymousId"] = .string(value)
            case "mid": event["messageId"] = .string(value)
            default: properties[key] = .string(value)
            }
        }
        guard let writeKey = writeKey ?? BasicAuth.username(fromHeader: request.headers[.authorization]) else {
            throw IntakeError.unauthorized("no write key: add wk=KEY to the pixel URL")
        }
        guard let app = intake.writeKeys.app(for: writeKey) else { throw IntakeError.unauthorized("unknown write key") }
        if event["userId"] == nil && event["anonymousId"] == nil {
            // A pixel has no SDK to make one up; the client address stands in.
            event["anonymousId"] = .string("pixel-" + UUID().uuidString.lowercased())
        }
        event["properties"] = .object(properties)
        if let referrer = request.headers[.referer] { event["context"] = ["page": ["url": .string(referrer)]] }
        let facts = intake.requestFacts(request, context: context, writeKey: writeKey, app: app)
        intake.reader.stamper.stamp(&event, type: .track, facts: facts)
        let bytes = JSONWriter.bytes(.object(event))
        try intake.reader.checkSize(bytes)
        let admitted = try intake.admission.admit([IntakeEvent(bytes: bytes, userKey: PayloadReader.userKey(event, facts: facts))], app: app)
        try await intake.submitter.store(admitted)
        intake.metrics.accepted(app: app, count: 1)
        return Response(
            status: .ok,
            headers: [.contentType: "image/gif", .cacheControl: "no-store, max-age=0"],
            body: .init(byteBuffer: ByteBuffer(bytes: Self.gif))
        )
    }
}
