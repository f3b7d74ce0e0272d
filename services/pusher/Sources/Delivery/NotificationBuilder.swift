import BeaconCore
import Foundation

/// Turns a push request into what APNs and FCM take.
enum NotificationBuilder {
    /// `{"aps":{"alert":{"title","body"},"sound","badge"}, …data}`; the 4096-byte
    /// limit is checked by `APNsNotification`.
    static func apns(_ request: PushRequest, now: Date = Date()) throws -> APNsNotification {
        let content = request.notification
        var alert = JSONObject()
        if let title = content.title { alert["title"] = .string(title) }
        if let body = content.body { alert["body"] = .string(body) }
        var aps = JSONObject()
        if !alert.isEmpty { aps["alert"] = .object(alert) }
        if let sound = content.sound { aps["sound"] = .string(sound) }
        if let badge = content.badge { aps["badge"] = .integer(Int64(badge)) }
        let silent = content.isSilent
        if silent { aps["content-available"] = 1 }
        var payload: JSONObject = ["aps": .object(aps)]
        for (key, value) in content.data.sorted(by: { $0.key < $1.key }) where key != "aps" {
            payload[key] = .string(value)
        }
        return try APNsNotification(
            deviceToken: request.token,
            payloadBytes: JSONWriter.bytes(.object(payload)),
            pushType: silent ? .background : .alert,
            // Apple allows only 5 for background pushes.
            priority: silent || content.priority == .normal ? .powerConsiderate : .immediate,
            expiration: content.ttlSeconds.map { Int64(now.timeIntervalSince1970) + Int64($0) },
            collapseId: content.collapseKey,
            apnsId: apnsId(for: request.requestId)
        )
    }

    static func fcm(_ request: PushRequest) -> FCMMessage {
        let content = request.notification
        let notification = content.title == nil && content.body == nil
            ? nil : FCMMessage.Notification(title: content.title, body: content.body)
        return FCMMessage(
            token: request.token,
            notification: notification,
            data: content.data,
            android: FCMMessage.Android(
                priority: content.priority == .high ? .high : .normal,
                collapseKey: content.collapseKey,
                ttl: content.ttlSeconds.map { .seconds($0) },
                sound: content.sound
            )
        )
    }

    /// A stable apns-id per request, so APNs logs line up with our feedback.
    static func apnsId(for requestId: String) -> String {
        var hasher = StableHash()
        hasher.add(requestId)
        let (high, low) = (hasher.value, StableHash.of(requestId + "#"))
        let hex = String(format: "%016llx%016llx", high, low)
        let chars = Array(hex)
        return "\(String(chars[0..<8]))-\(String(chars[8..<12]))-4\(String(chars[13..<16]))-a\(String(chars[17..<20]))-\(String(chars[20..<32]))"
    }
}

/// FNV-1a: stable across processes (Swift's Hasher is seeded per process).
struct StableHash {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ text: String) {
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x100_0000_01b3
        }
    }

    static func of(_ text: String) -> UInt64 {
        var hash = StableHash()
        hash.add(text)
        return hash.value
    }
}
