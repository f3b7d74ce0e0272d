import BeaconMongo
import Foundation

/// Where a page of the delivery log ended: the last attempt's `at` and
/// `_id` (the tiebreak among attempts of one millisecond). Opaque to
/// clients: base64url of `<at in ms>.<_id hex>`.
struct WebhookLogCursor: Sendable, Equatable {
    let atMillis: Int64
    let id: String

    init(atMillis: Int64, id: String) {
        self.atMillis = atMillis
        self.id = id
    }

    init?(text: String) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let plain = String(data: data, encoding: .utf8) else { return nil }
        let parts = plain.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let millis = Int64(parts[0]), parts[1].count == 24, parts[1].allSatisfy(\.isHexDigit) else { return nil }
        self.init(atMillis: millis, id: String(parts[1]).lowercased())
    }

    var text: String {
        Data("\(atMillis).\(id)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    var at: Date { Date(timeIntervalSince1970: Double(atMillis) / 1000) }

    /// With `at <= self.at`, what picks the attempts after this one in the
    /// newest-first order: an earlier `at`, or of the same `at` a smaller `_id`.
    /// (The `at` range bounds the index scan; an `$or` alone would not.)
    var orEarlier: MongoValue {
        [["at": ["$lt": .date(at)]], ["_id": ["$lt": .objectId(id)]]]
    }
}
