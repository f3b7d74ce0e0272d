import BeaconGeoIP
import BeaconTestSupport
import Foundation
import Testing

/// BeaconGeoIP against the small City database written by
/// Tests/Fixtures/make_test_geoip.py (BEACON_TEST_GEOIP_DB), checked against
/// Tests/Fixtures/geoip-expectations.json.
@Suite("GeoIP (libmaxminddb)")
struct GeoIPTests {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // SharedTests
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Fixtures")

    /// geoip-expectations.json: address -> GeoLocation, or null for "no location".
    static func expectations() throws -> [(ip: String, location: GeoLocation?)] {
        let url = fixtures.appendingPathComponent("geoip-expectations.json")
        let table = try JSONDecoder().decode([String: GeoLocation?].self, from: Data(contentsOf: url))
        return table.map { (ip: $0.key, location: $0.value) }.sorted { $0.ip < $1.ip }
    }

    static func openTestDatabase() throws -> GeoIPDatabase {
        try GeoIPDatabase(path: TestEnvironment.geoipDatabase())
    }

    @Test func metadata() throws {
        let db = try Self.openTestDatabase()
        #expect(db.databaseType == "GeoIP2-City")
        #expect(db.ipVersion == 6)
        #expect(db.buildDate > Date(timeIntervalSince1970: 1_500_000_000))
        #expect(db.buildDate < Date().addingTimeInterval(86_400))
    }

    @Test func everyExpectationHolds() throws {
        let db = try Self.openTestDatabase()
        let expectations = try Self.expectations()
        #expect(expectations.filter { $0.location != nil }.count >= 5)
        #expect(expectations.filter { $0.location == nil }.count >= 2)
        for (ip, expected) in expectations {
            let found = try db.lookup(ip)
            #expect(found == expected, "lookup(\(ip))")
        }
    }

    @Test(arguments: [
        "10.0.0.1", "10.255.255.254", "172.16.0.1", "192.168.1.1", "127.0.0.1", "169.254.10.20",
        "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255",
        "::1", "::", "fe80::1", "fd12:3456::1", "ff02::1", "::ffff:192.168.1.1", "::ffff:127.0.0.1",
    ])
    func privateAndReservedAddressesHaveNoLocation(ip: String) throws {
        let db = try Self.openTestDatabase()
        #expect(try db.lookup(ip) == nil)
    }

    @Test(arguments: [
        "not-an-ip", "300.1.2.3", "81.2.69.160/24", "2001:db8::g", "1.2.3.4.5", "example.com", "",
        // Shorthands and zone ids that getaddrinfo would take are refused too.
        "1.2.3", "0x51.2.69.160", "fe80::1%lo",
    ])
    func invalidAddressTextThrows(text: String) throws {
        let db = try Self.openTestDatabase()
        do {
            let location = try db.lookup(text)
            Issue.record("lookup(\(text)) returned \(String(describing: location)) instead of throwing")
        } catch {
            guard case .invalidAddress(let given, let message) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(given == text)
            #expect(!message.isEmpty)
            #expect(error.description.contains("'\(text)' is not a valid IP address"))
        }
    }

    @Test func missingFileThrowsLibraryMessage() throws {
        let path = NSTemporaryDirectory() + "beacon-no-such-\(UUID().uuidString).mmdb"
        do {
            _ = try GeoIPDatabase(path: path)
            Issue.record("opening a missing file succeeded")
        } catch {
            guard case .openFailed(let failedPath, let message) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(failedPath == path)
            // MMDB_strerror(MMDB_FILE_OPEN_ERROR), then errno's text.
            #expect(message.contains("Error opening the specified MaxMind DB file"))
            #expect(message.contains("No such file or directory"))
            #expect(error.description.contains(path))
        }
    }

    @Test(arguments: [Data(), Data("this is not a MaxMind database\n".utf8), Data((0..<4096).map { UInt8($0 % 251) })])
    func garbageFileThrowsLibraryMessage(content: Data) throws {
        let path = NSTemporaryDirectory() + "beacon-garbage-\(UUID().uuidString).mmdb"
        try content.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try GeoIPDatabase(path: path)
            Issue.record("opening a garbage file succeeded")
        } catch {
            guard case .openFailed(_, let message) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            // e.g. "The MaxMind DB file contains invalid metadata"
            #expect(message.contains("MaxMind DB"), "\(message)")
        }
    }

    @Test func concurrentLookupsShareOneDatabase() async throws {
        let db = try Self.openTestDatabase()
        let expectations = try Self.expectations()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for round in 0..<200 {
                        let (ip, expected) = expectations[(worker + round) % expectations.count]
                        let found = try db.lookup(ip)
                        #expect(found == expected, "lookup(\(ip))")
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
