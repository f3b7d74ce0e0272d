import BeaconCore
import BeaconRedis
import Foundation

/// Answers `GET /stats?app=…&from=…&to=…` from the per-minute counters.
struct StatsQuery: Sendable {
    let redis: RedisClient
    /// At most this many minutes per query, so a request cannot ask Redis for years.
    let maxMinutes: Int64 = 7 * 24 * 60

    /// A query that cannot be answered as asked (a 400); other errors are Redis's.
    struct Invalid: Error { let message: String }

    /// Blocks on Redis: call it through `BlockingWork`.
    func answer(app: String?, from: String?, to: String?) throws -> JSONValue {
        guard let app, !app.isEmpty else { throw Invalid(message: "app is required") }
        // Minutes from `from`'s up to `to`, not including a minute that starts
        // at `to`: 10:00 to 11:00 is 60 minutes, exactly 7 days is allowed,
        // and the default is the 60 minutes up to and with the current one.
        let end = try to.map(parse) ?? Date()
        let last = MinuteBucket.minute(of: end.addingTimeInterval(-0.001))
        let first = try from.map { MinuteBucket.minute(of: try parse($0)) } ?? last - 59
        guard first <= last else { throw Invalid(message: "from must be before to") }
        guard last - first < maxMinutes else { throw Invalid(message: "at most \(maxMinutes) minutes (7 days) per query") }
        let minutes = Array(first...last)
        let replies = try redis.pipeline(minutes.map { ["HGETALL", MinuteBucket.key(app: app, minute: $0)] })
        var buckets: [JSONValue] = []
        var totals = JSONObject(), events = JSONObject(), countries = JSONObject()
        var total: Int64 = 0
        for (minute, reply) in zip(minutes, replies) {
            guard let flat = try reply.checked().elements, !flat.isEmpty else { continue }
            var bucketEvents = JSONObject(), bucketCountries = JSONObject()
            var bucketTotal: Int64 = 0
            var index = 0
            while index + 1 < flat.count {
                let field = flat[index].text ?? "", count = flat[index + 1].integer ?? 0
                if field == "total" {
                    bucketTotal = count
                } else if field.hasPrefix("event:") {
                    let name = String(field.dropFirst(6))
                    bucketEvents[name] = .integer(count)
                    events[name] = .integer((events[name].flatMap { if case .integer(let n) = $0 { n } else { nil } } ?? 0) + count)
                } else if field.hasPrefix("country:") {
                    let code = String(field.dropFirst(8))
                    bucketCountries[code] = .integer(count)
                    countries[code] = .integer((countries[code].flatMap { if case .integer(let n) = $0 { n } else { nil } } ?? 0) + count)
                }
                index += 2
            }
            total += bucketTotal
            buckets.append([
                "minute": .string(Timestamp.iso8601(Date(timeIntervalSince1970: Double(minute) * 60))),
                "total": .integer(bucketTotal), "events": .object(bucketEvents), "countries": .object(bucketCountries),
            ])
        }
        totals["total"] = .integer(total)
        totals["events"] = .object(events)
        totals["countries"] = .object(countries)
        return [
            "app": .string(app),
            "from": .string(Timestamp.iso8601(Date(timeIntervalSince1970: Double(first) * 60))),
            "to": .string(Timestamp.iso8601(Date(timeIntervalSince1970: Double(last + 1) * 60))),
            "totals": .object(totals), "minutes": .array(buckets),
        ]
    }

    private func parse(_ text: String) throws -> Date {
        if let date = Timestamp.parse(text) { return date }
        if let seconds = Double(text) { return Date(timeIntervalSince1970: seconds) }
        throw Invalid(message: "'\(text)' is neither an ISO-8601 time nor epoch seconds")
    }
}
