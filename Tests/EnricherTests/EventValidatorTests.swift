import BeaconCore
import Testing
@testable import EnricherService

@Suite struct EventValidatorTests {
    let validator = EventValidator()

    func reason(_ event: JSONValue) -> String? {
        do {
            _ = try validator.validate(event.objectValue!)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func acceptsEachSegmentTypeWithItsRequiredFields() {
        #expect(reason(["type": "track", "messageId": "m", "userId": "u", "event": "Signed Up"]) == nil)
        #expect(reason(["type": "identify", "messageId": "m", "anonymousId": "a", "traits": ["email": "x@y"]]) == nil)
        #expect(reason(["type": "page", "messageId": "m", "userId": "u", "name": "Home"]) == nil)
        #expect(reason(["type": "screen", "messageId": "m", "userId": "u"]) == nil)
        #expect(reason(["type": "group", "messageId": "m", "userId": "u", "groupId": "g1"]) == nil)
        #expect(reason(["type": "alias", "messageId": "m", "userId": "u", "previousId": "old"]) == nil)
    }

    static let refusals: [(JSONValue, String)] = [
        (["messageId": "m", "userId": "u"], "missing \"type\""),
        (["type": "purchase", "messageId": "m", "userId": "u"], "unknown type \"purchase\" (expected track, identify, page, screen, group or alias)"),
        (["type": "track", "messageId": "m", "event": "E"], "track needs a userId or an anonymousId"),
        (["type": "track", "messageId": "m", "userId": "u"], "track needs a non-empty \"event\" name"),
        (["type": "track", "messageId": "m", "userId": "u", "event": "E", "properties": "x"], "\"properties\" must be an object, not string"),
        (["type": "group", "messageId": "m", "userId": "u"], "group needs a \"groupId\""),
        (["type": "alias", "messageId": "m", "userId": "u"], "alias needs a \"previousId\""),
        (["type": "identify", "messageId": "m", "userId": 5], "\"userId\" must be a string, not number"),
        (["type": "page", "messageId": "m", "userId": "u", "timestamp": "yesterday"], "\"timestamp\" must be an ISO-8601 timestamp"),
        (["type": "page", "userId": "u"], "\"messageId\" must be a non-empty string"),
    ]

    @Test(arguments: refusals)
    func refusesWithAReason(event: JSONValue, expected: String) {
        #expect(reason(event) == expected)
    }
}

@Suite struct TimestampNormaliserTests {
    @Test func correctsTheClientClockLikeSegment() {
        var event: JSONObject = [
            "receivedAt": "2026-03-01T12:00:10.000Z",
            "sentAt": "2026-03-01T12:05:00.000Z",  // client clock 4m50s fast
            "timestamp": "2026-03-01T12:04:58.000+00:00",
        ]
        TimestampNormaliser().normalise(&event)
        #expect(event["timestamp"] == "2026-03-01T12:00:08.000Z")
        #expect(event["originalTimestamp"] == "2026-03-01T12:04:58.000Z")
    }

    @Test func usesReceivedAtWhenTheClientGaveNoTime() {
        var event: JSONObject = ["receivedAt": "2026-03-01T12:00:10.5Z"]
        TimestampNormaliser().normalise(&event)
        #expect(event["timestamp"] == "2026-03-01T12:00:10.500Z")
        #expect(event["originalTimestamp"] == nil)
    }

    @Test func convertsOffsetsToUTC() {
        var event: JSONObject = ["receivedAt": "2026-03-01T12:00:00Z", "timestamp": "2026-03-01T13:30:00+01:30"]
        TimestampNormaliser().normalise(&event)
        #expect(event["timestamp"] == "2026-03-01T12:00:00.000Z")
    }
}
