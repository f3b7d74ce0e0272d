import Foundation

/// Counters are kept per UTC minute, in one Redis hash per app and minute:
/// `beacon:counts:{app}:{yyyyMMddHHmm}` with fields `total`, `event:{name}`
/// and `country:{code}`.
enum MinuteBucket {
    static let prefix = "beacon:counts:"

    static func key(app: String, minute: Int64) -> String {
        "\(prefix)\(app):\(label(minute))"
    }

    /// Minutes since the epoch.
    static func minute(of date: Date) -> Int64 { Int64((date.timeIntervalSince1970 / 60).rounded(.down)) }

    static func label(_ minute: Int64) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: Date(timeIntervalSince1970: Double(minute) * 60))
        return String(format: "%04d%02d%02d%02d%02d", parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!)
    }
}
