import BeaconCore
import BeaconMongo
import Foundation

/// The current mail registrations in MongoDB, one document per registration:
/// `{_id: registrationId, app, partition, deviceToken, platform, sealed,
/// notification, expiresAt, receivedAt, pausedUntil, uidValidity, uidNext}`.
/// The account stays sealed here; only a session opens it, in memory.
/// Every call blocks (libmongoc): call it from a loop thread or `BlockingWork`.
struct RegistrationStore: Sendable {
    let collection: MongoCollection

    /// The partition index the assignment loads by, and expiry's.
    func prepare() throws(MongoError) {
        try collection.createIndex(keys: ["partition": .int32(1)], name: "partition", unique: false)
        try collection.createIndex(keys: ["expiresAt": .int32(1)], name: "expiresAt", unique: false)
    }

    /// Stores a registration; a repeated one (redelivered, or registered
    /// again under the same id) keeps its mailbox watermark.
    func save(_ stored: StoredRegistration) throws(MongoError) {
        _ = try collection.upsert(filter: ["_id": .string(stored.id)], update: ["$set": .document(stored.registrationFields)])
    }

    /// Sets (or with nil clears) the pause; false when the registration is not stored.
    func pause(_ id: String, until: Date?) throws(MongoError) -> Bool {
        let update: MongoDocument = until.map { ["$set": ["pausedUntil": .date($0)]] } ?? ["$unset": ["pausedUntil": ""]]
        return try collection.update(filter: ["_id": .string(id)], update: update) > 0
    }

    /// Records how far the mailbox was pushed.
    func record(_ id: String, watermark: MailboxWatermark) throws(MongoError) {
        try collection.update(
            filter: ["_id": .string(id)],
            update: ["$set": ["uidValidity": .int64(Int64(watermark.uidValidity)), "uidNext": .int64(Int64(watermark.uidNext))]])
    }

    @discardableResult
    func remove(_ id: String) throws(MongoError) -> Bool {
        try collection.deleteMany(["_id": .string(id)]) > 0
    }

    func find(_ id: String) throws(MongoError) -> StoredRegistration? {
        try collection.find(["_id": .string(id)], limit: 1).first.flatMap(StoredRegistration.init(document:))
    }

    /// The registrations of these partitions that have not expired.
    func load(partitions: [Int32], now: Date = Date()) throws(MongoError) -> [StoredRegistration] {
        guard !partitions.isEmpty else { return [] }
        return try collection.find([
            "partition": ["$in": .array(partitions.map { .int32($0) })], "expiresAt": ["$gt": .date(now)],
        ]).compactMap(StoredRegistration.init(document:))
    }

    /// Forgets registrations that expired (their sessions end by themselves).
    @discardableResult
    func removeExpired(now: Date = Date()) throws(MongoError) -> Int {
        try collection.deleteMany(["expiresAt": ["$lte": .date(now)]])
    }
}
