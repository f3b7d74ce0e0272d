import BeaconCore
import Foundation
import HummingbirdCore

/// `GET /t/{event}?wk=KEY&k=v…`: a track event from an <img> tag. Query
/// parameters become properties; `uid`, `aid` and `mid` set userId,
/// anonymousId and messageId. Answers a 1×1 transparent GIF.
struct PixelIntake: Sendable {
    let intake: EventIntake

    func accept(_ request: IntakeRequest, event encodedName: Substring) throws(IntakeError) -> EventIntake.Accepted {
        guard let name = String(encodedName).removingPercentEncoding, !name.isEmpty else {
            throw IntakeError.invalidBody("the pixel path is /t/{event}")
        }
        var writeKey: String?
        var event: JSONObject = ["event": .string(name)]
        var properties = JSONObject()
        for (key, value) in URI(request.head.uri).queryParameters {
            let key = String(key), value = String(value)
            switch key {
            case "wk", "writeKey": writeKey = value
            case "uid": event["userId"] = .string(value)
            case "aid": event["anonymousId"] = .string(value)
            case "mid": event["messageId"] = .string(value)
            default: properties[key] = .string(value)
            }
        }
        guard let writeKey = writeKey ?? BasicAuth.username(fromHeader: request.header(.authorization)) else {
            throw IntakeError.unauthorized("no write key: add wk=KEY to the pixel URL")
        }
        let app = try intake.app(for: writeKey, request: request)
        if event["userId"] == nil && event["anonymousId"] == nil {
            // A pixel has no SDK to make one up.
            event["anonymousId"] = .string("pixel-" + MessageId.random())
        }
        event["properties"] = .object(properties)
        if let referrer = request.header(.referer) { event["context"] = ["page": ["url": .string(referrer)]] }
        let facts = intake.requestFacts(request, writeKey: writeKey, app: app)
        intake.reader.stamper.stamp(&event, type: .track, facts: facts)
        let bytes = JSONWriter.bytes(.object(event))
        try intake.reader.checkSize(bytes)
        let admitted = try intake.admission.admit([IntakeEvent(bytes: bytes, user: PayloadReader.user(of: event))], app: app, writeKey: writeKey)
        var accepted = EventIntake.Accepted(app: app, events: admitted, rejected: [])
        accepted.answersWithPixel = true
        return accepted
    }
}
