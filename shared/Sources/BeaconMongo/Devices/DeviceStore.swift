import BeaconCore

/// The push devices Beacon knows, one MongoDB document per app and token:
/// `{app, token, platform, userId, anonymousId, locale, timezone, appVersion,
/// geo, lastSeen, pushEnabled, createdAt}`. The one place that knows that
/// schema: the consumers record sightings and look devices up, the pusher
/// removes the ones APNs or FCM declared dead.
public struct DeviceStore: Sendable {
    public let collection: MongoCollection

    public init(collection: MongoCollection) {
        self.collection = collection
    }

    /// Creates the unique (app, token) index the upserts rely on.
    public func prepare() throws(MongoError) {
        // int32 keys, as the indexes were first made (from JSON text): the same
        // name with another key type could be refused as a conflicting index.
        try collection.createIndex(keys: ["app": .int32(1), "token": .int32(1)], name: "app_token", unique: true)
        try collection.createIndex(keys: ["app": .int32(1), "userId": .int32(1)], name: "app_user", unique: false)
    }

    /// Records a sighting. The token follows whoever uses it now: a token
    /// seen with another user moves to that user. Only a newer sighting may
    /// change a device: events of different users travel on different
    /// partitions, so they can arrive out of order.
    public func record(_ device: DeviceSighting) throws(MongoError) {
        var set: MongoDocument = [
            "platform": .string(device.platform.rawValue), "lastSeen": .date(device.seenAt),
            "userId": device.userId.map(MongoValue.string) ?? .null, "anonymousId": device.anonymousId.map(MongoValue.string) ?? .null,
        ]
        if let locale = device.locale { set["locale"] = .string(locale) }
        if let timezone = device.timezone { set["timezone"] = .string(timezone) }
        if let appVersion = device.appVersion { set["appVersion"] = .string(appVersion) }
        if let geo = device.geo { set["geo"] = MongoValue(geo) }
        var onInsert: MongoDocument = ["createdAt": .date(device.seenAt)]
        if let enabled = device.pushEnabled {
            set["pushEnabled"] = .bool(enabled)
        } else {
            onInsert["pushEnabled"] = true
        }
        let newerThanStored: MongoDocument = [
            "app": .string(device.app), "token": .string(device.token),
            "$or": [["lastSeen": ["$lt": .date(device.seenAt)]], ["lastSeen": ["$exists": false]]],
        ]
        do {
            _ = try collection.upsert(filter: newerThanStored, update: ["$set": .document(set), "$setOnInsert": .document(onInsert)])
        } catch {
            // A duplicate key: the stored sighting is newer, nothing to change.
            guard error.isDuplicateKey else { throw error }
        }
    }

    /// Devices of a user that may receive pushes.
    public func devices(app: String, userId: String) throws(MongoError) -> [RegisteredDevice] {
        try collection.find(["app": .string(app), "userId": .string(userId), "pushEnabled": true]).compactMap(RegisteredDevice.init(document:))
    }

    /// Removes devices APNs or FCM declared invalid; returns how many.
    @discardableResult
    public func remove(app: String, tokens: [String]) throws(MongoError) -> Int {
        guard !tokens.isEmpty else { return 0 }
        return try collection.deleteMany(["app": .string(app), "token": ["$in": .array(tokens.map(MongoValue.string))]])
    }
}
