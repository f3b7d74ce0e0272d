import BeaconCore
import BeaconGeoIP
import BeaconTestSupport
import Foundation
import Testing
@testable import EnricherService

@Suite struct EventEnricherTests {
    static let iPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.5 Mobile/15E148 Safari/604.1"

    func enricher() throws -> EventEnricher {
        let database = try GeoIPDatabase(path: try TestEnvironment.geoipDatabase())
        return EventEnricher(geo: GeoEnrichment(database: database, cacheSize: 100), device: DeviceEnrichment(parser: try UserAgentParser(), cacheSize: 100))
    }

    func process(_ event: JSONValue) throws -> EnrichmentResult {
        try enricher().process(JSONWriter.bytes(event))
    }

    @Test func addsGeoAndDeviceAndKeysByUser() throws {
        let result = try process([
            "type": "track", "messageId": "m1", "userId": "u1", "event": "Order Completed", "writeKey": "wk",
            "receivedAt": "2026-03-01T12:00:00.000Z", "context": ["ip": "81.2.69.160", "userAgent": .string(Self.iPhone)],
        ])
        guard case .enriched(let key, let value) = result else { Issue.record("expected enriched, got \(result)"); return }
        #expect(String(decoding: key, as: UTF8.self) == "wk:u1")
        let event = try JSONParser.parse(value)
        let expected = try #require(Fixtures.geoExpectations()["81.2.69.160"] as? [String: Any])
        #expect(event["enrichment"]?["geo"]?["countryCode"]?.stringValue == expected["countryCode"] as? String)
        #expect(event["enrichment"]?["geo"]?["city"]?.stringValue == expected["city"] as? String)
        #expect(event["enrichment"]?["geo"]?["timeZone"]?.stringValue == expected["timeZone"] as? String)
        #expect(event["enrichment"]?["device"]?["type"] == "mobile")
        #expect(event["enrichment"]?["device"]?["osFamily"] == "iOS")
        #expect(event["enrichment"]?["device"]?["browserFamily"] == "Mobile Safari")
        #expect(event["enrichment"]?["device"]?["brand"] == "Apple")
        #expect(event["timestamp"] == "2026-03-01T12:00:00.000Z")
    }

    @Test func privateAddressesGetNoGeoAndNoError() throws {
        let result = try process(["type": "page", "messageId": "m2", "anonymousId": "a", "context": ["ip": "192.168.1.10"]])
        guard case .enriched(_, let value) = result else { Issue.record("expected enriched, got \(result)"); return }
        let event = try JSONParser.parse(value)
        #expect(event["enrichment"]?["geo"] == nil)
    }

    @Test func invalidEventsCarryTheReasonAndTheOriginal() throws {
        let result = try process(["type": "track", "messageId": "m3", "userId": "u", "app": "shop"])
        guard case .invalid(_, let value, let reason) = result else { Issue.record("expected invalid, got \(result)"); return }
        #expect(reason == "track needs a non-empty \"event\" name")
        let record = try JSONParser.parse(value)
        #expect(record["reason"]?.stringValue == reason)
        #expect(record["messageId"] == "m3")
        #expect(record["payload"]?["app"] == "shop")
    }

    @Test func malformedEntriesAreInvalidNotFatal() throws {
        let result = try enricher().process(Array("{not json".utf8))
        guard case .invalid(_, let value, let reason) = result else { Issue.record("expected invalid, got \(result)"); return }
        #expect(reason.hasPrefix("malformed JSON"))
        #expect(try JSONParser.parse(value)["payload"] == "{not json")
        guard case .invalid = try enricher().process(nil) else { Issue.record("a missing field must be invalid"); return }
    }
}
