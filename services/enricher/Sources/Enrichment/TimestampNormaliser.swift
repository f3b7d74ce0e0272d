import BeaconCore
import Foundation

/// Puts every timestamp in UTC ISO-8601 with milliseconds and corrects the
/// client's clock the way Segment does: timestamp = receivedAt − (sentAt −
/// originalTimestamp). The client's own value is kept as originalTimestamp.
struct TimestampNormaliser: Sendable {
    func normalise(_ event: inout JSONObject) {
        let receivedAt = event["receivedAt"]?.stringValue.flatMap(Timestamp.parse) ?? Date()
        event["receivedAt"] = .string(Timestamp.iso8601(receivedAt))
        let sentAt = event["sentAt"]?.stringValue.flatMap(Timestamp.parse)
        if let sentAt { event["sentAt"] = .string(Timestamp.iso8601(sentAt)) }
        guard let original = event["timestamp"]?.stringValue.flatMap(Timestamp.parse) else {
            event["timestamp"] = .string(Timestamp.iso8601(receivedAt))
            return
        }
        event["originalTimestamp"] = .string(Timestamp.iso8601(original))
        if let sentAt {
            event["timestamp"] = .string(Timestamp.iso8601(receivedAt.addingTimeInterval(original.timeIntervalSince(sentAt))))
        } else {
            event["timestamp"] = .string(Timestamp.iso8601(original))
        }
    }
}
