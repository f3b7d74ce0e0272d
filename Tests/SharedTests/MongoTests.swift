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

    @Test func ping() throws {
        let pool = try MongoClientPool(uri: Self.url(), appName: "beacon-shared-tests")
        try pool.ping()
        let hello = try pool.runCommand(database: "admin", command: ["hello": 1])
        #expect(hello["ok"]?.int64Value == 1)
    }

    @Test func unreachableServerThrowsServerSelectionError() throws {
        // Port 1: nothing listens there.
        let pool = try MongoClientPool(uri: "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300", appName: "beacon-shared-tests")
        let error = #expect(throws: MongoError.self) { try pool.ping() }
        #expect(error?.message.contains("No suitable servers found") == true, "\(String(describing: error))")
        #expect(error?.kind == .transient, "no server now may be one later")
    }

    @Test func invalidURIThrowsLibraryMessage() {
        let error = #expect(throws: MongoError.self) { _ = try MongoClientPool(uri: "http://127.0.0.1", appName: "x") }
        #expect(error?.message.contains("Invalid URI Schema") == true, "\(String(describing: error))")
    }

    @Test func deviceRegistryRoundTrip() throws {
        try Self.withCollection { _, devices in
            // A unique index on (app, token); creating it again is a no-op.
            try devices.createIndex(keys: ["app": 1, "token": 1], name: "app_token", unique: true)
            try devices.createIndex(keys: ["app": 1, "token": 1], name: "app_token", unique: true)

            let filter: MongoDocument = ["app": "shop", "token": "tok-1"]
            let created = Date(timeIntervalSince1970: 1_714_564_800)  // 2024-05-01T12:00:00Z
            let first = try devices.upsert(
                filter: filter,
                update: ["$set": ["platform": "ios", "locale": "de-DE", "badge": 3], "$setOnInsert": ["createdAt": .date(created)]])
            #expect(first.matched == 0)
            #expect(first.upserted)

            let second = try devices.upsert(filter: filter, update: ["$set": ["platform": "ios", "locale": "en-GB"]])
            #expect(second.matched == 1)
            #expect(!second.upserted)

            #expect(try devices.count([:]) == 1)
            let found = try devices.find(["app": "shop"])
            try #require(found.count == 1)
            let document = found[0]
            #expect(document.string("app") == "shop")
            #expect(document.string("token") == "tok-1")
            #expect(document.string("platform") == "ios")
            #expect(document.string("locale") == "en-GB")
            #expect(document.int64("badge") == 3)
            if case .objectId(let id)? = document["_id"] { #expect(id.count == 24) } else { Issue.record("no ObjectId: \(document)") }
            #expect(document.date("createdAt") == created)

            // A replacement document (no $-operators) replaces the whole document.
            let replaced = try devices.upsert(filter: filter, update: ["app": "shop", "token": "tok-1", "platform": "android"])
            #expect(replaced.matched == 1 && !replaced.upserted)
            let after = try #require(devices.find(filter).first)
            #expect(after.string("platform") == "android")
            #expect(after["locale"] == nil)
        }
    }

    /// Every value type goes to BSON and comes back as it was.
    @Test func everyValueRoundTrips() throws {
        try Self.withCollection { _, collection in
            let at = Date(timeIntervalSince1970: 1_764_601_234.5)
            let document: MongoDocument = [
                "_id": .objectId("65a1b2c3d4e5f60718293a4b"),
                "double": 2.5, "string": "Grüße, 世界 🚀", "bool": true, "null": nil,
                "int32": .int32(-7), "int64": .int64(9_007_199_254_740_993), "date": .date(at),
                "milliseconds": .date(Date(timeIntervalSince1970: 1_764_601_234.567)),
                "array": [1, "two", [3.5, false], ["nested": "in array"]],
                "document": ["a": ["b": ["c": .int32(1)]], "empty": .document(MongoDocument()), "list": []],
            ]
            try collection.insert(document)
            let back = try #require(collection.find(["_id": .objectId("65a1b2c3d4e5f60718293a4b")]).first)
            #expect(back == document, "\(back)")
            #expect(back.keys == document.keys, "field order is kept")
            #expect(back.date("date")?.timeIntervalSince1970 == 1_764_601_234.5, "milliseconds are kept")
            // int32 and int64 stay apart; a query by value finds both forms.
            #expect(back["int32"] == .int32(-7) && back["int64"] == .int64(9_007_199_254_740_993))
            #expect(try collection.count(["int32": .int64(-7)]) == 1)
            // And as JSON: dates as ISO-8601, ObjectIds as hex.
            #expect(back.json["date"] == "2025-12-01T15:00:34.500Z")
            #expect(back.json["_id"] == "65a1b2c3d4e5f60718293a4b")
            // JSON knows one kind of integer: int32 comes back from it as int64.
            #expect(MongoDocument(try #require(back.json.objectValue)).json == back.json)
        }
    }

    @Test func duplicateInsertCarriesServerMessage() throws {
        try Self.withCollection { _, devices in
            try devices.createIndex(keys: ["app": 1, "token": 1], name: "app_token", unique: true)
            try devices.insert(["app": "shop", "token": "tok-dup", "platform": "ios"])
            let error = #expect(throws: MongoError.self) {
                try devices.insert(["app": "shop", "token": "tok-dup", "platform": "android"])
            }
            let failure = try #require(error)
            #expect(failure.isDuplicateKey)
            #expect(failure.code == 11000)
            #expect(failure.kind == .permanent)
            // The server's own message, naming the index.
            #expect(failure.message.contains("E11000 duplicate key error"), "\(failure.message)")
            #expect(failure.message.contains("app_token"), "\(failure.message)")
            #expect(failure.reply?["writeErrors"] != nil, "\(String(describing: failure.reply))")
            // Same app, other token: fine.
            try devices.insert(["app": "shop", "token": "tok-other"])
            #expect(try devices.count(["app": "shop"]) == 2)
            #expect(try devices.count(["token": "tok-dup", "platform": "ios"]) == 1)
        }
    }

    @Test func findLimitDeleteManyAndCount() throws {
        try Self.withCollection { _, devices in
            for index in 0..<6 {
                try devices.insert(["app": .string(index % 2 == 0 ? "even" : "odd"), "token": .string("t\(index)"), "n": .int64(Int64(index))])
            }
            #expect(try devices.count([:]) == 6)
            #expect(try devices.count(["app": "even"]) == 3)
            #expect(try devices.count(["n": ["$gte": 4]]) == 2)
            #expect(try devices.find([:]).count == 6)
            #expect(try devices.find([:], limit: 2).count == 2)
            #expect(try devices.find(["app": "none"]).isEmpty)

            #expect(try devices.deleteMany(["app": "odd"]) == 3)
            #expect(try devices.deleteMany(["app": "odd"]) == 0)
            #expect(try devices.count([:]) == 3)
            #expect(try devices.deleteMany([:]) == 3)
            #expect(try devices.count([:]) == 0)
        }
    }

    @Test func badRequestsThrowTheServersMessagePermanently() throws {
        try Self.withCollection { pool, devices in
            // The server's answer to a bad query operator and an unknown command.
            let query = #expect(throws: MongoError.self) { _ = try devices.find(["$bogus": 1]) }
            #expect(query?.message.contains("$bogus") == true, "\(String(describing: query))")
            #expect(query?.kind == .permanent, "\(String(describing: query))")
            let command = #expect(throws: MongoError.self) {
                try pool.runCommand(database: Self.database, command: ["noSuchCommand": 1])
            }
            #expect(command?.message.contains("noSuchCommand") == true, "\(String(describing: command))")
        }
    }

    @Test func whatBSONCannotHoldIsRefusedBeforeAnythingIsSent() throws {
        try Self.withCollection { _, collection in
            let key = #expect(throws: MongoError.self) { try collection.insert(["a\u{0}b": 1]) }
            #expect(key?.kind == .permanent && key?.message.contains("NUL") == true, "\(String(describing: key))")
            let id = #expect(throws: MongoError.self) { _ = try collection.find(["_id": .objectId("not-an-id")]) }
            #expect(id?.kind == .permanent && id?.message.contains("ObjectId") == true, "\(String(describing: id))")
            let count = try collection.count([:])
            #expect(count == 0)
        }
    }

    @Test func concurrentUpsertsThroughOnePool() async throws {
        let pool = try MongoClientPool(uri: Self.url(), appName: "beacon-shared-tests")
        let devices = pool.collection(database: Self.database, name: "concurrent_\(UUID().uuidString.prefix(8).lowercased())")
        defer { try? devices.drop() }
        try devices.createIndex(keys: ["token": 1], name: "token", unique: true)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for round in 0..<20 {
                        // Workers overlap on tokens: each token ends up once.
                        let token = "t\((worker + round) % 25)"
                        _ = try devices.upsert(filter: ["token": .string(token)], update: ["$set": ["last": .int64(Int64(worker))]])
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try devices.count([:]) == 25)
    }
}
