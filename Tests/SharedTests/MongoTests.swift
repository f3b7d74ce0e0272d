import BeaconMongo
import BeaconTestSupport
import Foundation
import Testing

/// BeaconMongo (libmongoc 1.23) against the real MongoDB-wire server that
/// `make test` starts (BEACON_TEST_MONGO_URL). Every test works in a
/// collection of its own and drops it afterwards.
@Suite("MongoDB (libmongoc)")
struct MongoTests {
    static let database = "beacon_test"

    /// The test server's URL, with a short server selection timeout so that a
    /// dead server fails the test in seconds rather than libmongoc's 30.
    static func url() throws -> String {
        let base = try TestEnvironment.mongoURL()
        if base.contains("?") { return base + "&serverSelectionTimeoutMS=5000" }
        return base + (base.hasSuffix("/") ? "" : "/") + "?serverSelectionTimeoutMS=5000"
    }

    static func withCollection(_ body: (MongoClientPool, MongoCollection) throws -> Void) throws {
        let pool = try MongoClientPool(uri: url(), appName: "beacon-shared-tests")
        let name = "devices_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased())"
        let collection = pool.collection(database: database, name: name)
        defer { try? collection.drop() }
        try body(pool, collection)
    }

    static func object(_ json: String) throws -> [String: Any] {
        let value = try JSONSerialization.jsonObject(with: Data(json.utf8))
        return try #require(value as? [String: Any], "not a JSON object: \(json)")
    }

    @Test func ping() throws {
        let pool = try MongoClientPool(uri: Self.url(), appName: "beacon-shared-tests")
        try pool.ping()
        let hello = try Self.object(pool.runCommand(database: "admin", command: #"{"hello": 1}"#))
        #expect(hello["ok"] as? Double == 1)
    }

    @Test func unreachableServerThrowsServerSelectionError() throws {
        // Port 1: nothing listens there.
        let pool = try MongoClientPool(uri: "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300", appName: "beacon-shared-tests")
        let error = #expect(throws: MongoError.self) { try pool.ping() }
        #expect(error?.message.contains("No suitable servers found") == true, "\(String(describing: error))")
    }

    @Test func invalidURIThrowsLibraryMessage() {
        let error = #expect(throws: MongoError.self) { _ = try MongoClientPool(uri: "http://127.0.0.1", appName: "x") }
        #expect(error?.message.contains("Invalid URI Schema") == true, "\(String(describing: error))")
    }

    @Test func deviceRegistryRoundTrip() throws {
        try Self.withCollection { _, devices in
            // A unique index on (app, token); creating it again is a no-op.
            try devices.createIndex(keys: #"{"app": 1, "token": 1}"#, name: "app_token", unique: true)
            try devices.createIndex(keys: #"{"app": 1, "token": 1}"#, name: "app_token", unique: true)

            let filter = #"{"app": "shop", "token": "tok-1"}"#
            let first = try devices.upsert(
                filter: filter,
                update: #"{"$set": {"platform": "ios", "locale": "de-DE", "badge": 3}, "$setOnInsert": {"createdAt": {"$date": "2024-05-01T12:00:00Z"}}}"#)
            #expect(first.matched == 0)
            #expect(first.upserted)

            let second = try devices.upsert(filter: filter, update: #"{"$set": {"platform": "ios", "locale": "en-GB"}}"#)
            #expect(second.matched == 1)
            #expect(!second.upserted)

            #expect(try devices.count(filter: "{}") == 1)
            let found = try devices.find(filter: #"{"app": "shop"}"#)
            try #require(found.count == 1)
            let document = try Self.object(found[0])
            #expect(document["app"] as? String == "shop")
            #expect(document["token"] as? String == "tok-1")
            #expect(document["platform"] as? String == "ios")
            #expect(document["locale"] as? String == "en-GB")
            #expect(document["badge"] as? Int == 3)
            #expect((document["_id"] as? [String: Any])?["$oid"] is String)
            // Relaxed extended JSON: dates as {"$date": ISO-8601}.
            #expect((document["createdAt"] as? [String: Any])?["$date"] as? String == "2024-05-01T12:00:00Z")

            // A replacement document (no $-operators) replaces the whole document.
            let replaced = try devices.upsert(filter: filter, update: #"{"app": "shop", "token": "tok-1", "platform": "android"}"#)
            #expect(replaced.matched == 1 && !replaced.upserted)
            let after = try Self.object(#require(devices.find(filter: filter).first))
            #expect(after["platform"] as? String == "android")
            #expect(after["locale"] == nil)
        }
    }

    @Test func duplicateInsertCarriesServerMessage() throws {
        try Self.withCollection { _, devices in
            try devices.createIndex(keys: #"{"app": 1, "token": 1}"#, name: "app_token", unique: true)
            try devices.insert(json: #"{"app": "shop", "token": "tok-dup", "platform": "ios"}"#)
            let error = #expect(throws: MongoError.self) {
                try devices.insert(json: #"{"app": "shop", "token": "tok-dup", "platform": "android"}"#)
            }
            let failure = try #require(error)
            #expect(failure.isDuplicateKey)
            #expect(failure.code == 11000)
            // The server's own message, naming the index.
            #expect(failure.message.contains("E11000 duplicate key error"), "\(failure.message)")
            #expect(failure.message.contains("app_token"), "\(failure.message)")
            #expect(failure.reply?.contains("writeErrors") == true, "\(String(describing: failure.reply))")
            // Same app, other token: fine.
            try devices.insert(json: #"{"app": "shop", "token": "tok-other"}"#)
            #expect(try devices.count(filter: #"{"app": "shop"}"#) == 2)
            #expect(try devices.count(filter: #"{"token": "tok-dup", "platform": "ios"}"#) == 1)
        }
    }

    @Test func findLimitDeleteManyAndCount() throws {
        try Self.withCollection { _, devices in
            for index in 0..<6 {
                try devices.insert(json: #"{"app": "\#(index % 2 == 0 ? "even" : "odd")", "token": "t\#(index)", "n": \#(index)}"#)
            }
            #expect(try devices.count(filter: "{}") == 6)
            #expect(try devices.count(filter: #"{"app": "even"}"#) == 3)
            #expect(try devices.count(filter: #"{"n": {"$gte": 4}}"#) == 2)
            #expect(try devices.find(filter: "{}").count == 6)
            #expect(try devices.find(filter: "{}", limit: 2).count == 2)
            #expect(try devices.find(filter: #"{"app": "none"}"#).isEmpty)

            #expect(try devices.deleteMany(filter: #"{"app": "odd"}"#) == 3)
            #expect(try devices.deleteMany(filter: #"{"app": "odd"}"#) == 0)
            #expect(try devices.count(filter: "{}") == 3)
            #expect(try devices.deleteMany(filter: "{}") == 3)
            #expect(try devices.count(filter: "{}") == 0)
        }
    }

    @Test func badInputThrowsLibraryMessages() throws {
        try Self.withCollection { pool, devices in
            // libbson's JSON parser.
            let parse = #expect(throws: MongoError.self) { _ = try devices.find(filter: "{not json") }
            #expect(parse?.message.isEmpty == false)
            // The server's answer to a bad query operator and an unknown command.
            let query = #expect(throws: MongoError.self) { _ = try devices.find(filter: #"{"$bogus": 1}"#) }
            #expect(query?.message.contains("$bogus") == true, "\(String(describing: query))")
            let command = #expect(throws: MongoError.self) {
                try pool.runCommand(database: Self.database, command: #"{"noSuchCommand": 1}"#)
            }
            #expect(command?.message.contains("noSuchCommand") == true, "\(String(describing: command))")
        }
    }

    @Test func concurrentUpsertsThroughOnePool() async throws {
        let pool = try MongoClientPool(uri: Self.url(), appName: "beacon-shared-tests")
        let devices = pool.collection(database: Self.database, name: "concurrent_\(UUID().uuidString.prefix(8).lowercased())")
        defer { try? devices.drop() }
        try devices.createIndex(keys: #"{"token": 1}"#, name: "token", unique: true)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for round in 0..<20 {
                        // Workers overlap on tokens: each token ends up once.
                        let token = "t\((worker + round) % 25)"
                        _ = try devices.upsert(filter: #"{"token": "\#(token)"}"#, update: #"{"$set": {"last": \#(worker)}}"#)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try devices.count(filter: "{}") == 25)
    }
}
