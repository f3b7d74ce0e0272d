import BeaconCore
import BeaconMongo
import BeaconTestSupport
import Foundation
import Testing

/// The one device store, as the consumers and the pusher use it, on the
/// real MongoDB-wire server.
@Suite struct DeviceStoreTests {
    static func withStore(_ body: (DeviceStore) throws -> Void) throws {
        let pool = try MongoClientPool(uri: MongoTests.url(), appName: "beacon-shared-tests")
        let collection = pool.collection(database: MongoTests.database, name: "store_\(UUID().uuidString.prefix(12).lowercased())")
        defer { try? collection.drop() }
        let store = DeviceStore(collection: collection)
        try store.prepare()
        try body(store)
    }

    static let t0 = Date(timeIntervalSince1970: 1_764_600_000)

    func sighting(_ token: String, user: String?, at seconds: Double, platform: PushPlatform = .ios, pushEnabled: Bool? = nil)
        -> DeviceSighting
    {
        DeviceSighting(app: "shop", token: token, platform: platform, userId: user, locale: "de-DE", geo: ["countryCode": "DE"],
                       seenAt: Self.t0.addingTimeInterval(seconds), pushEnabled: pushEnabled)
    }

    @Test func aTokenFollowsItsNewestUser() throws {
        try Self.withStore { store in
            try store.record(sighting("tok", user: "u1", at: 10))
            try store.record(sighting("tok", user: "u2", at: 20))
            #expect(try store.devices(app: "shop", userId: "u1").isEmpty)
            let device = try #require(try store.devices(app: "shop", userId: "u2").first)
            #expect(device.app == "shop" && device.token == "tok" && device.platform == .ios && device.userId == "u2" && device.locale == "de-DE")
            let stored = try #require(store.collection.find(["token": "tok"]).first)
            #expect(stored.date("lastSeen") == Self.t0.addingTimeInterval(20))
            #expect(stored.date("createdAt") == Self.t0.addingTimeInterval(10))
            #expect(stored.document("geo")?.string("countryCode") == "DE")
        }
    }

    @Test func anOlderSightingArrivingLaterChangesNothing() throws {
        try Self.withStore { store in
            try store.record(sighting("tok", user: "u2", at: 20))
            // u1's event was on another partition and came later: it is older.
            try store.record(sighting("tok", user: "u1", at: 10))
            #expect(try store.devices(app: "shop", userId: "u2").count == 1)
            #expect(try store.devices(app: "shop", userId: "u1").isEmpty)
            #expect(try store.collection.count([:]) == 1)
        }
    }

    @Test func optOutAndOptIn() throws {
        try Self.withStore { store in
            try store.record(sighting("tok", user: "u1", at: 1, platform: .android))
            #expect(try store.devices(app: "shop", userId: "u1").map(\.platform) == [.android], "a new device may receive pushes")
            try store.record(sighting("tok", user: "u1", at: 2, platform: .android, pushEnabled: false))
            #expect(try store.devices(app: "shop", userId: "u1").isEmpty)
            // A sighting that says nothing about it keeps the opt-out.
            try store.record(sighting("tok", user: "u1", at: 3, platform: .android))
            #expect(try store.devices(app: "shop", userId: "u1").isEmpty)
            try store.record(sighting("tok", user: "u1", at: 4, platform: .android, pushEnabled: true))
            #expect(try store.devices(app: "shop", userId: "u1").count == 1)
        }
    }

    @Test func removeTakesTheDeadTokensOfOneApp() throws {
        try Self.withStore { store in
            for (index, token) in ["a", "b", "c"].enumerated() { try store.record(sighting(token, user: "u1", at: Double(index))) }
            try store.collection.insert(["app": "other", "token": "a", "platform": "ios"])
            #expect(try store.remove(app: "shop", tokens: []) == 0)
            #expect(try store.remove(app: "shop", tokens: ["a", "c", "zzz"]) == 2)
            #expect(try store.devices(app: "shop", userId: "u1").map(\.token) == ["b"])
            #expect(try store.collection.count(["app": "other"]) == 1)
        }
    }

    @Test func aSightingComesFromAnEventWithAPushToken() throws {
        let event = try JSONParser.parse(#"""
            {"type":"track","event":"Push Opt Out","app":"shop","userId":"u1","anonymousId":"a1","receivedAt":"2026-12-01T10:00:00.000Z",
             "context":{"device":{"token":"tok","type":"iOS"},"locale":"de-DE","timezone":"Europe/Berlin","app":{"version":"2.1"}},
             "enrichment":{"geo":{"countryCode":"DE"}}}
            """#)
        let sighting = try #require(DeviceSighting(event: event))
        #expect(sighting.platform == .ios && sighting.token == "tok" && sighting.userId == "u1" && sighting.anonymousId == "a1")
        #expect(sighting.pushEnabled == false && sighting.locale == "de-DE" && sighting.timezone == "Europe/Berlin" && sighting.appVersion == "2.1")
        #expect(sighting.seenAt == Timestamp.parse("2026-12-01T10:00:00.000Z"))
        #expect(DeviceSighting(event: ["app": "shop", "context": ["device": ["type": "ios"]]]) == nil, "no token")
        #expect(DeviceSighting(event: ["app": "shop", "context": ["device": ["token": "t", "type": "blackberry"]]]) == nil)
    }
}
