import BeaconCore

/// What becomes of one stream entry: an enriched event for `beacon.events`,
/// or the reason it goes to `beacon.events.invalid`.
enum EnrichmentResult {
    case enriched(key: [UInt8], value: [UInt8])
    case invalid(key: [UInt8]?, value: [UInt8], reason: String)

    /// What the invalid topic gets: `{"reason", "payload", "messageId"?, "app"?, "rejectedAt"}`.
    static func invalid(reason: String, payload: JSONValue, key: [UInt8]?) -> EnrichmentResult {
        var record: JSONObject = ["reason": .string(reason), "payload": payload]
        if case .object(let event) = payload {
            if let id = event["messageId"] { record["messageId"] = id }
            if let app = event["app"] { record["app"] = app }
        }
        record["rejectedAt"] = .string(Timestamp.iso8601(.now))
        return .invalid(key: key, value: JSONWriter.bytes(.object(record)), reason: reason)
    }
}

/// Validates, normalises and enriches one event.
struct EventEnricher: Sendable {
    let validator = EventValidator()
    let timestamps = TimestampNormaliser()
    let geo: GeoEnrichment?
    let device: DeviceEnrichment

    func process(_ bytes: [UInt8]?) -> EnrichmentResult {
        guard let bytes else { return invalid(reason: "stream entry has no event field", payload: .null, key: nil) }
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(bytes)
        } catch {
            return invalid(reason: "malformed JSON: \(error)", payload: .string(String(decoding: bytes, as: UTF8.self)), key: nil)
        }
        guard case .object(var event) = parsed else {
            return invalid(reason: "event must be a JSON object, not \(parsed.typeName)", payload: parsed, key: nil)
        }
        let writeKey = event["writeKey"]?.stringValue ?? ""
        do {
            _ = try validator.validate(event)
        } catch {
            return invalid(reason: error.reason, payload: parsed, key: writeKey.isEmpty ? nil : Array(writeKey.utf8))
        }
        timestamps.normalise(&event)
        var enrichment = event["enrichment"]?.objectValue ?? JSONObject()
        let context = event["context"]?.objectValue
        if let geo, let ip = context?["ip"]?.stringValue, let location = geo.geo(forIP: ip) {
            enrichment["geo"] = location
        }
        if let userAgent = context?["userAgent"]?.stringValue, !userAgent.isEmpty {
            enrichment["device"] = device.device(forUserAgent: userAgent)
        }
        event["enrichment"] = .object(enrichment)
        // One user's events share a key, hence a partition, hence their order.
        let user = event["userId"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? event["anonymousId"]?.stringValue ?? ""
        return .enriched(key: Array("\(writeKey):\(user)".utf8), value: JSONWriter.bytes(.object(event)))
    }

    private func invalid(reason: String, payload: JSONValue, key: [UInt8]?) -> EnrichmentResult {
        EnrichmentResult.invalid(reason: reason, payload: payload, key: key)
    }
}
