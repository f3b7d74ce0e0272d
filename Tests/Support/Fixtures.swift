import Foundation

/// Files under Tests/Fixtures.
public enum Fixtures {
    public static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// What the test GeoIP database answers per address (null: no location).
    public static func geoExpectations() throws -> [String: Any] {
        let data = try Data(contentsOf: directory.appendingPathComponent("geoip-expectations.json"))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }
}
