import BeaconCore
import BeaconRedis
import BeaconTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import ConsumersService

/// The consumers' HTTP routes in process: `/stats` (an admin route: with
/// the token) against the real Redis, its refusals, and the operational routes.
@Suite struct ConsumersRoutesTests {
    let app = "routes-\(UUID().uuidString.prefix(8).lowercased())"
    let admin: HTTPFields = [.authorization: "Bearer routes-admin-token"]

    func application(redis url: String) throws -> some ApplicationProtocol {
        let readiness = Readiness()
        readiness.register("kafka rules", reason: "no partitions assigned")
        return Application(router: Consumers.makeRouter(
            readiness: readiness, stats: StatsQuery(redis: RedisClient(url: try RedisURL(url))), adminTokens: AdminTokens(["routes-admin-token"]),
            webhookLog: nil))
    }

    @Test func statsAnswersFromTheCountersInRedis() async throws {
        let redis = try RedisClient(url: RedisURL(TestEnvironment.redisURL()))
        let minute = MinuteBucket.minute(of: Date())
        _ = try redis.pipeline([
            ["HINCRBY", MinuteBucket.key(app: app, minute: minute), "total", "3"],
            ["HINCRBY", MinuteBucket.key(app: app, minute: minute), "event:Order", "2"],
            ["HINCRBY", MinuteBucket.key(app: app, minute: minute), "country:DE", "3"],
        ])
        try await application(redis: TestEnvironment.redisURL()).test(.router) { client in
            try await client.execute(uri: "/stats?app=\(app)", method: .get, headers: admin) { response in
                #expect(response.status == .ok)
                let body = try JSONParser.parse(response.body.readableBytesView)
                #expect(body["totals"]?["total"] == 3)
                #expect(body["totals"]?["events"]?["Order"] == 2)
                #expect(body["totals"]?["countries"]?["DE"] == 3)
            }
        }
    }

    @Test func badStatsQueriesAreRefusedWithTheReason() async throws {
        try await application(redis: TestEnvironment.redisURL()).test(.router) { client in
            for (query, reason) in [
                ("", "app is required"), ("?app=x&from=yesterday", "neither an ISO-8601 time nor epoch seconds"),
                ("?app=x&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "from must be before to"),
                ("?app=x&from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from must be before to"),
                ("?app=x&from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", "minutes (7 days) per query"),
                ("?app=x&from=2026-01-01T00:00:00Z&to=2026-01-08T00:01:00Z", "minutes (7 days) per query"),
            ] {
                try await client.execute(uri: "/stats\(query)", method: .get, headers: admin) { response in
                    #expect(response.status == .badRequest, "\(query)")
                    #expect(String(buffer: response.body).contains(reason), "\(query): \(String(buffer: response.body))")
                }
            }
        }
    }

    /// Minute buckets from `from`'s minute up to `to`, without a minute that
    /// starts at `to`; the default is the 60 minutes up to the current one.
    @Test func statsSpansTheMinutesUpToTo() async throws {
        let redis = try RedisClient(url: RedisURL(TestEnvironment.redisURL()))
        let range = "stats-range-\(UUID().uuidString.prefix(8))"
        let tenOClock = MinuteBucket.minute(of: try #require(Timestamp.parse("2026-11-22T10:00:00Z")))
        // One event in each minute from 09:59 to 11:00, both ends just outside 10:00-11:00.
        _ = try redis.pipeline((tenOClock - 1...tenOClock + 60).map { ["HINCRBY", MinuteBucket.key(app: range, minute: $0), "total", "1"] })
        // The last 61 minutes and the next one: 60 of them are in the default
        // range whether or not the minute turns before the query.
        let now = MinuteBucket.minute(of: Date())
        _ = try redis.pipeline((now - 60...now + 1).map { ["HINCRBY", MinuteBucket.key(app: range, minute: $0), "total", "1"] })
        try await application(redis: TestEnvironment.redisURL()).test(.router) { client in
            for (query, total, from, to) in [
                ("&from=2026-11-22T10:00:00Z&to=2026-11-22T11:00:00Z", 60, "2026-11-22T10:00:00.000Z", "2026-11-22T11:00:00.000Z"),
                ("&from=2026-11-22T10:00:30Z&to=2026-11-22T10:59:30Z", 60, "2026-11-22T10:00:00.000Z", "2026-11-22T11:00:00.000Z"),
                ("&from=2026-11-22T10:00:00Z&to=2026-11-22T10:00:01Z", 1, "2026-11-22T10:00:00.000Z", "2026-11-22T10:01:00.000Z"),
                ("&from=2026-11-15T11:00:00Z&to=2026-11-22T11:00:00Z", 61, "2026-11-15T11:00:00.000Z", "2026-11-22T11:00:00.000Z"),
                ("", 60, nil, nil),
            ] as [(String, Int, String?, String?)] {
                try await client.execute(uri: "/stats?app=\(range)\(query)", method: .get, headers: admin) { response in
                    #expect(response.status == .ok, "\(query): \(String(buffer: response.body))")
                    let body = try JSONParser.parse(response.body.readableBytesView)
                    #expect(body["totals"]?["total"] == .integer(Int64(total)), "\(query)")
                    if let from, let to {
                        #expect(body["from"]?.stringValue == from && body["to"]?.stringValue == to, "\(query)")
                    }
                }
            }
        }
    }

    @Test func statsSaysSoWhenRedisIsAway() async throws {
        try await application(redis: "redis://127.0.0.1:1").test(.router) { client in
            try await client.execute(uri: "/stats?app=x", method: .get, headers: admin) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains("counters unavailable"))
            }
        }
    }

    @Test func operationalRoutesNameWhatIsNotReady() async throws {
        try await application(redis: TestEnvironment.redisURL()).test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = try JSONParser.parse(response.body.readableBytesView)
                #expect(body["failing"]?["kafka rules"] == "no partitions assigned")
            }
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .ok) }
        }
    }
}
