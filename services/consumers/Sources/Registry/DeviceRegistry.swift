import BeaconCore
import BeaconMongo
import Foundation

/// The push devices Beacon knows, one MongoDB document per app and token:
/// `{app, token, platform, userId, anonymousId, locale, timezone, appVersion,
/// geo, lastSeen, pushEnabled, createdAt}`.
struct DeviceRegistry: Sendable {
    let devices: MongoCollection

    /// Creates the unique (app, token) index the upserts rely on.
    func prepare() throws {
        try devices.createIndex(keys: #"{"app":1,"token":1}"#, name: "app_token", unique: true)
        try devices.createIndex(keys: #"{"app":1,"userId":1}"#, name: "app_user", unique: false)
    }

    /// Records a sighting of a device. The token follows whoever uses it now:
    /// a token seen with another user moves to that user.
    func upsert(_ device: DeviceSighting) throws {
        var set: JSONObject = [
            "platform": .string(device.platform.rawValue),
            "lastSeen": ["$date": .string(device.seenAt)],
        ]
        set["userId"] = device.userId.map(JSONValue.string) ?? .null
        set["anonymousId"] = device.anonymousId.map(JSONValue.string) ?? .null
        if let locale = device.locale { set["locale"] = .string(locale) }
        if let timezone = device.timezone { set["timezone"] = .string(timezone) }
        if let appVersion = device.appVersion { set["appVersion"] = .string(appVersion) }
        if let geo = device.geo { set["geo"] = geo }
        var update: JSONObject = ["$set": .object(set)]
        if let enabled = device.pushEnabled {
            set["pushEnabled"] = .bool(enabled)
            update["$set"] = .object(set)
            update["$setOnInsert"] = ["createdAt": ["$date": .string(device.seenAt)]]
        } else {
            update["$setOnInsert"] = ["createdAt": ["$date": .string(device.seenAt)], "pushEnabled": true]
        }
        // Only a newer sighting may change the device: events of different
        // users travel on different partitions, so they can arrive out of order.
        let newerThanStored: JSONValue = [
            "app": .string(device.app), "token": .string(device.token),
            "$or": [["lastSeen": ["$lt": ["$date": .string(device.seenAt)]]], ["lastSeen": ["$exists": false]]],
        ]
        do {
            _ = try devices.upsert(filter: JSONWriter.string(newerThanStored), update: JSONWriter.string(.object(update)))
        } catch {
            // A duplicate key: the stored sighting is newer, nothing to change.
            guard error.isDuplicateKey else { throw error }
        }
    }

    /// Devices of a user that may receive pushes.
    func devices(app: String, userId: String) throws -> [RegisteredDevice] {
        let query: JSONValue = ["app": .string(app), "userId": .string(userId), "pushEnabled": true]
        return try devices.find(filter: JSONWriter.string(query)).compactMap(RegisteredDevice.init(json:))
    }

    /// Removes devices APNs or FCM declared invalid.
    @discardableResult
    func remove(app: String, tokens: [String]) throws -> Int {
        guard !tokens.isEmpty else { return 0 }
        let query: JSONValue = ["app": .string(app), "token": ["$in": .array(tokens.map(JSONValue.string))]]
        return try devices.deleteMany(filter: JSONWriter.string(query))
    }
}

/// What one event tells about a device.
struct DeviceSighting: Sendable, Equatable {
    var app: String
    var token: String
    var platform: PushPlatform
    var userId: String?
    var anonymousId: String?
    var locale: String?
    var timezone: String?
    var appVersion: String?
    var geo: JSONValue?
    var seenAt: String
    /// Set by `Push Opt In` / `Push Opt Out`; nil leaves it as it is.
    var pushEnabled: Bool?

    /// nil when the event carries no push token.
    init?(event: JSONValue) {
        guard let app = event["app"]?.stringValue,
              let token = event["context"]?["device"]?["token"]?.stringValue, !token.isEmpty,
              let type = event["context"]?["device"]?["type"]?.stringValue, let platform = PushPlatform(deviceType: type)
        else { return nil }
        self.app = app
        self.token = token
        self.platform = platform
        userId = event["userId"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        anonymousId = event["anonymousId"]?.stringValue
        locale = event["context"]?["locale"]?.stringValue
        timezone = event["context"]?["timezone"]?.stringValue
        appVersion = event["context"]?["app"]?["version"]?.stringValue
        geo = event["enrichment"]?["geo"]
        seenAt = event["receivedAt"]?.stringValue ?? Timestamp.iso8601(Date())
        if event["type"]?.stringValue == "track" {
            switch event["event"]?.stringValue {
            case "Push Opt Out": pushEnabled = false
            case "Push Opt In": pushEnabled = true
            default: pushEnabled = nil
            }
        }
    }
}

/// A device as the registry returns it.
struct RegisteredDevice: Sendable, Equatable {
    var app: String
    var token: String
    var platform: PushPlatform
    var userId: String?
    var locale: String?

    init?(json: String) {
        guard let document = try? JSONParser.parse(json),
              let app = document["app"]?.stringValue, let token = document["token"]?.stringValue,
              let platform = document["platform"]?.stringValue.flatMap(PushPlatform.init(rawValue:))
        else { return nil }
        self.app = app
        self.token = token
        self.platform = platform
        userId = document["userId"]?.stringValue
        locale = document["locale"]?.stringValue
    }
}
