import BeaconCore
import Foundation
import Testing

/// The hand-written ISO-8601 paths must say exactly what Foundation's
/// ISO8601FormatStyle says, which they stand in for.
@Suite struct TimestampTests {
    static func foundationFormat(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }

    static func foundationParse(_ text: String) -> Date? {
        (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
            ?? (try? Date.ISO8601FormatStyle().parse(text))
    }

    @Test func formatsAsFoundationDoes() {
        var rng = SystemRandomNumberGenerator()
        var dates = [Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: -1), Date(timeIntervalSince1970: 951_782_400),  // 2000-02-29
                     Date(timeIntervalSince1970: 1_709_164_799.9999), Date(timeIntervalSince1970: -62_135_596_800)]  // 0001-01-01
        for _ in 0..<20_000 {
            dates.append(Date(timeIntervalSince1970: Double.random(in: -5_000_000_000...5_000_000_000, using: &rng)))
        }
        for date in dates {
            #expect(Timestamp.iso8601(date) == Self.foundationFormat(date), "\(date.timeIntervalSince1970)")
        }
    }

    @Test func parsesAsFoundationDoes() {
        var texts = [
            "2024-03-01T12:34:56Z", "2024-03-01T12:34:56.789Z", "2024-03-01T12:34:56.7Z", "2024-03-01T12:34:56.123456789Z",
            "2024-03-01T12:34:56+02:00", "2024-03-01T12:34:56.5-0730", "1999-12-31T23:59:59.999+14:00", "1969-07-20T20:17:40Z",
            "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2024-04-31T10:00:00Z", "2024-13-01T00:00:00Z",
            "2024-03-01T24:00:00Z", "2024-03-01T12:34:60Z", "2024-03-01T12:34:56", "2024-03-01 12:34:56Z", "2024-03-01T12:34:56.Z",
            "2024-03-01T12:34:56.123Zjunk", "2024-03-01", "", "not a date", "2024-03-01T12:34:56+2",
        ]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let date = Date(timeIntervalSince1970: Double.random(in: -2_000_000_000...4_000_000_000, using: &rng))
            texts.append(Self.foundationFormat(date))
            let offset = Int.random(in: -12...14, using: &rng) * 3600 + [0, 1800, 2700].randomElement(using: &rng)!
            let zone = TimeZone(secondsFromGMT: offset)!
            texts.append(date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: Bool.random(using: &rng), timeZone: zone)))
        }
        for text in texts {
            let ours = Timestamp.parse(text)?.timeIntervalSince1970
            let theirs = Self.foundationParse(text)?.timeIntervalSince1970
            if let ours, let theirs {
                #expect(abs(ours - theirs) < 0.000_001, "\(text): \(ours) vs \(theirs)")
            } else {
                #expect(ours == theirs, "\(text)")
            }
        }
    }
}
