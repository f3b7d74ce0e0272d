import BeaconCore
import Foundation

/// The value of `apns-push-type`; it must match what the payload contains.
public enum APNsPushType: String, Sendable, CaseIterable {
    case alert, background, location, voip, complication, fileprovider, mdm, liveactivity, pushtotalk, widgets, controls
}

/// The value of `apns-priority`: 10 delivers at once, 5 as power allows, 1 at the device's leisure.
public enum APNsPriority: Int, Sendable, CaseIterable {
    case immediate = 10
    case powerConsiderate = 5
    case low = 1
}

/// Why a notification was refused before anything was sent.
public enum APNsNotificationError: Error, Equatable, Sendable, CustomStringConvertible {
    case payloadTooLarge(size: Int, limit: Int)
    case payloadEmpty
    case payloadNotJSONObject(String)
    case invalidDeviceToken(String)
    case collapseIdTooLong(bytes: Int, limit: Int)
    case invalidApnsId(String)
    case invalidTopic(String)

    public var description: String {
        switch self {
        case .payloadTooLarge(let size, let limit):
            "APNs payload is \(size) bytes, over the \(limit)-byte limit"
        case .payloadEmpty: "APNs payload is empty"
        case .payloadNotJSONObject(let why): "APNs payload must be a JSON object: \(why)"
        case .invalidDeviceToken(let token): "device token '\(token)' is not a non-empty hexadecimal string"
        case .collapseIdTooLong(let bytes, let limit): "apns-collapse-id is \(bytes) bytes, over the \(limit)-byte limit"
        case .invalidApnsId(let id): "apns-id '\(id)' is not a canonical UUID"
        case .invalidTopic(let topic): "apns-topic '\(topic)' is not valid"
        }
    }
}

/// One notification for one device: the payload bytes and the APNs request
/// headers. Everything APNs would reject for its form (size, token, ids) is
/// checked here, so a bad notification never reaches the network.
public struct APNsNotification: Sendable, Equatable {
    /// Apple's limit for a notification payload.
    public static let maxPayloadSize = 4096
    public static let maxCollapseIdSize = 64

    /// The device token in lowercase hex, as it goes into `/3/device/{token}`.
    public let deviceToken: String
    /// The JSON payload, exactly as sent.
    public let payload: [UInt8]
    public let pushType: APNsPushType
    /// `apns-priority`; omitted means APNs' default (10).
    public let priority: APNsPriority?
    /// `apns-expiration` as UNIX seconds; 0 means deliver once or drop. Omitted means APNs' default.
    public let expiration: Int64?
    public let collapseId: String?
    /// `apns-id`: a canonical lowercase UUID; APNs makes one if omitted.
    public let apnsId: String?
    /// `apns-topic` for this notification; nil uses the credentials' topic.
    public let topic: String?

    public init(
        deviceToken: String,
        payloadBytes: [UInt8],
        pushType: APNsPushType = .alert,
        priority: APNsPriority? = nil,
        expiration: Int64? = nil,
        collapseId: String? = nil,
        apnsId: String? = nil,
        topic: String? = nil
    ) throws(APNsNotificationError) {
        let token = deviceToken.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: " ", with: "").lowercased()
        guard !token.isEmpty, token.utf8.allSatisfy(\.isHexDigit) else {
            throw .invalidDeviceToken(deviceToken)
        }
        guard !payloadBytes.isEmpty else { throw .payloadEmpty }
        guard payloadBytes.count <= Self.maxPayloadSize else {
            throw .payloadTooLarge(size: payloadBytes.count, limit: Self.maxPayloadSize)
        }
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(payloadBytes)
        } catch {
            throw .payloadNotJSONObject(error.description)
        }
        guard case .object = parsed else { throw .payloadNotJSONObject("top level is \(parsed.typeName)") }
        if let collapseId, collapseId.utf8.count > Self.maxCollapseIdSize {
            throw .collapseIdTooLong(bytes: collapseId.utf8.count, limit: Self.maxCollapseIdSize)
        }
        var normalisedId: String?
        if let apnsId {
            guard let uuid = UUID(uuidString: apnsId) else { throw .invalidApnsId(apnsId) }
            normalisedId = uuid.uuidString.lowercased()
        }
        if let topic {
            guard !topic.isEmpty, !topic.contains(where: { $0.isWhitespace }) else { throw .invalidTopic(topic) }
        }
        self.deviceToken = token
        self.payload = payloadBytes
        self.pushType = pushType
        self.priority = priority
        self.expiration = expiration
        self.collapseId = collapseId
        self.apnsId = normalisedId
        self.topic = topic
    }

    /// A notification whose payload is `payload` written as compact JSON.
    public init(
        deviceToken: String,
        payload: JSONValue,
        pushType: APNsPushType = .alert,
        priority: APNsPriority? = nil,
        expiration: Int64? = nil,
        collapseId: String? = nil,
        apnsId: String? = nil,
        topic: String? = nil
    ) throws(APNsNotificationError) {
        guard case .object = payload else { throw .payloadNotJSONObject("top level is \(payload.typeName)") }
        try self.init(
            deviceToken: deviceToken, payloadBytes: JSONWriter.bytes(payload), pushType: pushType,
            priority: priority, expiration: expiration, collapseId: collapseId, apnsId: apnsId, topic: topic
        )
    }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self)
    }
}
