import BeaconCore

/// A stream whose entries go to Kafka unchanged (mail registrations: the
/// tracker sealed what matters; nothing here may read or alter it), keyed by
/// one of their fields so that every change to one thing lands on one
/// partition, in order. An entry without that key goes to the invalid
/// topic with the reason, like an invalid event.
struct VerbatimForwarding: Sendable {
    /// The JSON field whose string value is the Kafka key (`registrationId`).
    let keyField: String

    func process(_ bytes: [UInt8]?) -> EnrichmentResult {
        guard let bytes else { return .invalid(reason: "stream entry has no \(StreamEntry.eventField) field", payload: .null, key: nil) }
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(bytes)
        } catch {
            return .invalid(reason: "malformed JSON: \(error)", payload: .string(String(decoding: bytes, as: UTF8.self)), key: nil)
        }
        guard case .object = parsed else {
            return .invalid(reason: "entry must be a JSON object, not \(parsed.typeName)", payload: parsed, key: nil)
        }
        guard case .string(let key)? = parsed[keyField], !key.isEmpty else {
            return .invalid(reason: "entry has no \(keyField) (a non-empty string) to key it by", payload: parsed, key: nil)
        }
        // The bytes as the tracker wrote them, not re-serialised.
        return .enriched(key: Array(key.utf8), value: bytes)
    }
}
