import BeaconCore
import BeaconRedis
import BeaconTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import ConsumersService

/// The admin routes in process: the token in front of all of them, their
/// refusals, and the delivery log's pages on the real MongoDB-wire server.
@Suite struct AdminRoutesTests {
    static let token = "test-admin-token"
    let bearer: HTTPFields = [.authorization: "Bearer \(Self.token)"]

    func application(tokens: [String] = [Self.token], log: WebhookAttemptLog? = nil) throws -> some ApplicationProtocol {
        let stats = StatsQuery(redis: RedisClient(url: try RedisURL(TestEnvironment.redisURL())))
        return Application(router: Consumers.makeRouter(readiness: Readiness(), stats: stats, adminTokens: AdminTokens(tokens), webhookLog: log))
    }

    func json(_ response: TestResponse) throws -> JSONValue { try JSONParser.parse(response.body.readableBytesView) }

    @Test func everyAdminRouteWantsTheToken() async throws {
        try await application().test(.router) { client in
            for uri in ["/stats?app=x", "/requests", "/errors", "/webhooks/abc"] {
                for headers: HTTPFields in [[:], [.authorization: "Bearer wrong"], [.authorization: "Basic \(Self.token)"],
                                           [.authorization: "Bearer \(Self.token)x"], [.authorization: "Bearer"]] {
                    try await client.execute(uri: uri, method: .get, headers: headers) { response throws in
                        #expect(response.status == .unauthorized, "\(uri) \(headers)")
                        #expect(response.headers[.wwwAuthenticate] == "Bearer")
                        #expect(try json(response)["error"]?["code"] == "unauthorized")
                    }
                }
            }
            // The right token passes: the routes answer for themselves (no log here: 503).
            try await client.execute(uri: "/stats?app=x", method: .get, headers: bearer) { #expect($0.status == .ok) }
            try await client.execute(uri: "/requests", method: .get, headers: bearer) { response throws in
                #expect(response.status == .serviceUnavailable)
                #expect(try json(response)["error"]?["code"] == "log_unavailable")
            }
            // Operational routes stay open.
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func anyConfiguredTokenOpensTheRoutes() async throws {
        try await application(tokens: ["old-token", Self.token]).test(.router) { client in
            for token in ["old-token", Self.token] {
                try await client.execute(uri: "/stats?app=x", method: .get, headers: [.authorization: "Bearer \(token)"]) { #expect($0.status == .ok) }
            }
        }
    }

    @Test func noConfiguredTokenClosesTheRoutesWithHowToConfigureOne() async throws {
        try await application(tokens: []).test(.router) { client in
            for uri in ["/stats?app=x", "/requests", "/errors", "/webhooks/abc"] {
                try await client.execute(uri: uri, method: .get, headers: bearer) { response throws in
                    #expect(response.status == .serviceUnavailable, "\(uri)")
                    #expect(String(buffer: response.body).contains("consumers.adminTokens"))
                }
            }
        }
    }

    @Test func badLogQueriesAreRefusedWithTheReason() async throws {
        let log = WebhookAttemptLog(collection: try WebhookLogTests.collection("admin"), retentionDays: 7)
        defer { try? log.collection.drop() }
        try await application(log: log).test(.router) { client in
            for (query, reason) in [
                ("?colour=red", "unknown parameter colour"), ("?since=yesterday", "since is not an ISO-8601 time"),
                ("?until=2026-13-01T00:00:00Z", "until is not an ISO-8601 time"), ("?status=600", "status must be"),
                ("?status=6xx", "status must be"), ("?status=ok", "status must be"), ("?limit=501", "limit must be"),
                ("?limit=0", "limit must be"), ("?limit=ten", "limit must be"), ("?outcome=lost", "outcome must be one of"),
                ("?cursor=nonsense", "cursor"), ("?app=a&app=b", "more than once"),
                ("?since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z", "since must be before until"),
            ] {
                for route in ["/requests", "/errors"] {
                    try await client.execute(uri: route + query, method: .get, headers: bearer) { response throws in
                        #expect(response.status == .badRequest, "\(route)\(query)")
                        let message = try json(response)["error"]?["message"]?.stringValue ?? ""
                        #expect(message.contains(reason), "\(route)\(query): \(message)")
                    }
                }
            }
        }
    }

    @Test func requestsErrorsAndOneWebhooksHistory() async throws {
        let log = WebhookAttemptLog(collection: try WebhookLogTests.collection("admin"), retentionDays: 7)
        defer { try? log.collection.drop() }
        try log.prepare()
        try log.record([
            WebhookLogTests.attempt("r1", attempt: 1, outcome: .retrying, status: 503, at: 0),
            WebhookLogTests.attempt("r1", attempt: 2, outcome: .delivered, status: 200, at: 30),
            WebhookLogTests.attempt("r2", app: "blog", host: "other.example", outcome: .failed, status: nil, at: 10),
        ])
        try await application(log: log).test(.router) { client in
            try await client.execute(uri: "/requests", method: .get, headers: bearer) { response throws in
                #expect(response.status == .ok)
                let body = try json(response)
                #expect(body["next"] == .null)
                guard case .array(let attempts)? = body["attempts"] else { Issue.record("no attempts"); return }
                #expect(attempts.map { $0["requestId"]?.stringValue } == ["r1", "r2", "r1"])
                let newest = attempts[0]
                #expect(newest["attempt"] == 2 && newest["status"] == 200 && newest["outcome"] == "delivered" && newest["isError"] == false)
                #expect(newest["at"] == .string(Timestamp.iso8601(WebhookLogTests.t0.addingTimeInterval(30))))
                #expect(newest["sourceName"] == "welcome" && newest["latencyMs"] == .number(12.5) && newest["nextAttemptAt"] == .null)
            }
            try await client.execute(uri: "/errors", method: .get, headers: bearer) { response throws in
                let attempts = try json(response)["attempts"]
                #expect(attempts?[0]?["requestId"] == "r2" && attempts?[0]?["error"] == "connection refused" && attempts?[0]?["status"] == .null)
                #expect(attempts?[1]?["requestId"] == "r1" && attempts?[1]?["outcome"] == "retrying" && attempts?[1]?["nextAttemptAt"] != .null)
            }
            try await client.execute(uri: "/errors?app=shop&status=5xx", method: .get, headers: bearer) { response throws in
                #expect(try json(response)["attempts"]?[0]?["requestId"] == "r1")
                #expect(try json(response)["attempts"]?[1] == nil)
            }
            try await client.execute(uri: "/requests?host=other.example&since=1970-01-01T00:00:00Z", method: .get, headers: bearer) { response throws in
                #expect(try json(response)["attempts"]?[0]?["requestId"] == "r2")
            }
            // Paging through the route: one at a time, the cursor given back.
            var next: String? = nil
            var seen: [String] = []
            repeat {
                let uri = "/requests?limit=1" + (next.map { "&cursor=\($0)" } ?? "")
                next = try await client.execute(uri: uri, method: .get, headers: bearer) { response throws in
                    let body = try json(response)
                    seen += [body["attempts"]?[0]?["requestId"]?.stringValue ?? "?"]
                    return body["next"]?.stringValue
                }
            } while next != nil && seen.count < 10
            #expect(seen == ["r1", "r2", "r1"])
            try await client.execute(uri: "/webhooks/r1", method: .get, headers: bearer) { response throws in
                #expect(response.status == .ok)
                let body = try json(response)
                #expect(body["id"] == "r1")
                #expect(body["attempts"]?[0]?["attempt"] == 1 && body["attempts"]?[1]?["attempt"] == 2 && body["attempts"]?[2] == nil)
            }
            try await client.execute(uri: "/webhooks/none", method: .get, headers: bearer) { response throws in
                #expect(response.status == .notFound)
                #expect(try json(response)["error"]?["code"] == "not_found")
            }
        }
    }
}

/// Where the tokens come from, and how they are compared.
@Suite struct AdminTokensTests {
    @Test func tokensFromTheSettingAndTheFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("admin-tokens-\(UUID().uuidString)").path
        try "# rotated 2026-12\nfrom-file-1\n\n  from-file-2  \n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let tokens = try AdminTokens(tokens: ["listed"], file: path)
        #expect(tokens.count == 3)
        for token in ["listed", "from-file-1", "from-file-2"] { #expect(tokens.accepts(authorization: "Bearer \(token)"), "\(token)") }
        #expect(tokens.accepts(authorization: "bearer listed"), "the scheme is case-insensitive")
        for refused in [nil, "", "Bearer ", "Bearer # rotated 2026-12", "Bearer listedx", "Bearer liste", "listed", "Token listed"] {
            #expect(!tokens.accepts(authorization: refused), "\(String(describing: refused))")
        }
        #expect(throws: AdminTokensFileError.self) { try AdminTokens(tokens: [], file: path + ".missing") }
        #expect(AdminTokens(["", "  "]).isEmpty)
    }

    @Test func theComparisonIsAFoldNotAnEarlyReturn() {
        let token = Array("s3cret-token".utf8)
        #expect(AdminTokens.constantTimeEqual(token, token) == 1)
        #expect(AdminTokens.constantTimeEqual(token, Array("s3cret-tokeN".utf8)) == 0)
        #expect(AdminTokens.constantTimeEqual(token, Array("X3cret-token".utf8)) == 0)
        #expect(AdminTokens.constantTimeEqual(token, Array("s3cret-token-".utf8)) == 0)
        #expect(AdminTokens.constantTimeEqual(token, []) == 0)
        #expect(AdminTokens.constantTimeEqual([], []) == 1)
    }

    @Test func settingsReadTheTokensFromTheEnvironment() async throws {
        let reader = try await SettingsReader(file: nil, environment: ["BEACON_CONSUMERS_ADMIN_TOKENS": "one, two"])
        let settings = try ConsumersSettings(reader)
        #expect(settings.adminTokens == ["one", "two"])
        #expect(settings.webhookLogCollection == "webhook_attempts" && settings.webhookLogRetentionDays == 7)
    }
}

extension JSONValue {
    /// An array's element, for reading answers in tests.
    fileprivate subscript(index: Int) -> JSONValue? {
        guard case .array(let values) = self, values.indices.contains(index) else { return nil }
        return values[index]
    }
}
