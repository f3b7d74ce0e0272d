import BeaconCore
import BeaconRedis
import BeaconTestSupport
import Foundation
import Testing
@testable import TrackerService

/// `POST /v1/postback` through the real tracker and a real Redis: a job's
/// requests are on the webhook stream, one entry each, before the 202; an
/// app without allowed hosts, or a host not listed, gets 403; bad jobs 400
/// with their field; a bad write key 401.
@Suite(.serialized) struct PostbackRoutesTests {
    let stack = BeaconStack()
    static let allowed = ["BEACON_POSTBACK_ALLOWED_HOSTS_\(BeaconStack.app.uppercased())": "127.0.0.1, *.partner.example"]

    func post(_ tracker: ServiceProcess, _ json: Any, writeKey: String? = BeaconStack.writeKey) async throws -> HTTP.Reply {
        try await HTTP.postJSON("\(tracker.baseURL)/v1/postback", json: json, writeKey: writeKey)
    }

    /// The webhook stream's entries, as the delivery will read them.
    func webhookEntries(_ redis: RedisConnection) throws -> [WebhookRequest] {
        let reply = try redis.command(["XRANGE", stack.webhookStream, "-", "+"]).checked()
        return try StreamMessage.parseList(reply).map { message in
            #expect(message.fields.count == 1, "one field per entry")
            return try WebhookRequest(json: try JSONParser.parse(message.field(StreamEntry.eventField) ?? []))
        }
    }

    func postbackRequests(_ exposition: String, _ outcome: String) -> Double {
        for line in exposition.split(separator: "\n") where line.hasPrefix("beacon_tracker_postback_requests_total{")
            && line.contains(#"outcome="\#(outcome)""#) {
            return Double(line.split(separator: " ").last ?? "") ?? 0
        }
        return 0
    }

    func expectRefusal(_ reply: HTTP.Reply, _ status: Int, _ code: String, field: String? = nil, _ comment: String = "") {
        #expect(reply.status == status, "\(comment): \(reply.text)")
        let body = try? reply.json()
        #expect(body?["success"] as? Bool == false, "\(comment): \(reply.text)")
        let error = body?["error"] as? [String: Any]
        #expect(error?["code"] as? String == code, "\(comment): \(reply.text)")
        #expect((error?["message"] as? String)?.isEmpty == false, "\(comment): \(reply.text)")
        if let field { #expect(error?["field"] as? String == field, "\(comment): \(reply.text)") }
    }

    @Test func aJobIsAnsweredOnceEveryRequestIsOnTheWebhookStream() async throws {
        let tracker = try await stack.startTracker(extra: Self.allowed)
        let redis = try RedisConnection(try TestEnvironment.redisURL())
        defer { _ = try? redis.command(["DEL", stack.webhookStream]) }

        let job: [String: Any] = [
            "endpoint": ["method": "GET", "url": "http://127.0.0.1:9/cb?click={click}&user={user.id}&none={missing}",
                         "headers": ["X-Source": "beacon-{user.id}"]],
            "data": [["click": "c 1/2", "user": ["id": "u1"]], ["click": "c2", "user": ["id": "u2"]], ["click": "ü"]],
        ]
        let reply = try await post(tracker, job)
        #expect(reply.status == 202, "\(reply.text)")
        let answer = try reply.json()
        #expect(answer["success"] as? Bool == true)
        let jobId = try #require(answer["jobId"] as? String)
        #expect(!jobId.isEmpty)
        #expect(answer["requestIds"] as? [String] == ["\(jobId):0", "\(jobId):1", "\(jobId):2"])

        let entries = try webhookEntries(redis)
        #expect(entries.map(\.id) == ["\(jobId):0", "\(jobId):1", "\(jobId):2"])
        #expect(entries.map(\.url) == [
            "http://127.0.0.1:9/cb?click=c%201%2F2&user=u1&none=", "http://127.0.0.1:9/cb?click=c2&user=u2&none=",
            "http://127.0.0.1:9/cb?click=%C3%BC&user=&none=",
        ])
        #expect(entries.map { $0.header("X-Source") } == ["beacon-u1", "beacon-u2", "beacon-"])
        #expect(entries.allSatisfy { $0.app == BeaconStack.app && $0.method == "GET" && $0.body == nil && Timestamp.parse($0.createdAt) != nil })
        #expect(entries.map(\.source) == (0..<3).map { WebhookRequest.Source.postback(jobId: jobId, index: $0) })
        #expect(try redis.command(["XLEN", stack.stream]).checked().integer == 0, "nothing in the events stream")

        // A POST without a body template sends each object as JSON; the write key may come in the body; a wildcard host.
        let second = try await post(tracker, [
            "writeKey": BeaconStack.writeKey, "endpoint": ["method": "POST", "url": "https://api.partner.example/conv"],
            "data": [["order": "o-1", "value": 12.5]],
        ], writeKey: nil)
        #expect(second.status == 202, "\(second.text)")
        let secondId = try #require(try second.json()["jobId"] as? String)
        #expect(secondId != jobId, "a new job id per job")
        let posted = try #require(try webhookEntries(redis).last)
        #expect(posted.id == "\(secondId):0" && posted.method == "POST" && posted.url == "https://api.partner.example/conv")
        let postedBody = try JSONParser.parse(try #require(posted.body))
        #expect(postedBody == ["order": "o-1", "value": 12.5])
        #expect(posted.header("Content-Type") == "application/json")

        let metrics = try await HTTP.get("\(tracker.baseURL)/metrics")
        #expect(postbackRequests(metrics.text, "accepted") == 2, "\(metrics.text)")
        #expect(metrics.text.contains(#"beacon_tracker_postback_objects_accepted_total{app="\#(BeaconStack.app)"} 4"#), "\(metrics.text)")
        _ = try await tracker.terminate()
    }

    @Test func postbacksAreRefusedUntilTheHostIsAllowed() async throws {
        let job: [String: Any] = ["endpoint": ["url": "https://api.partner.example/cb?x={id}"], "data": [["id": "1"]]]
        let off = try await stack.startTracker()
        expectRefusal(try await post(off, job), 403, "postbacks_disabled", field: "endpoint.url", "no allowed hosts")
        _ = try await off.terminate()

        let tracker = try await stack.startTracker(extra: Self.allowed)
        let redis = try RedisConnection(try TestEnvironment.redisURL())
        defer { _ = try? redis.command(["DEL", stack.webhookStream]) }
        for url in ["https://partner.example/cb", "https://evil.example/cb", "http://127.0.0.2/cb", "http://localhost/cb"] {
            let reply = try await post(tracker, ["endpoint": ["url": url], "data": [["id": "1"]]])
            expectRefusal(reply, 403, "host_not_allowed", field: "endpoint.url", url)
            #expect(reply.text.contains("postback.allowedHosts.\(BeaconStack.app)"), "\(reply.text)")
        }
        #expect(try redis.command(["XLEN", stack.webhookStream]).checked().integer == 0, "nothing written for a refused job")
        let metrics = try await HTTP.get("\(tracker.baseURL)/metrics")
        #expect(postbackRequests(metrics.text, "host_not_allowed") == 4, "\(metrics.text)")
        _ = try await tracker.terminate()
    }

    @Test func badJobsAndKeysAreRefusedWithTheirReasons() async throws {
        var environment = Self.allowed
        environment["BEACON_POSTBACK_MAX_OBJECTS"] = "2"
        environment["BEACON_POSTBACK_MAX_BODY_BYTES"] = "2000"
        environment["BEACON_CORS_\(BeaconStack.app.uppercased())_ALLOWED_ORIGINS"] = "https://shop.example"
        let tracker = try await stack.startTracker(extra: environment)
        let redis = try RedisConnection(try TestEnvironment.redisURL())
        defer { _ = try? redis.command(["DEL", stack.webhookStream]) }
        let endpoint: [String: Any] = ["url": "https://api.partner.example/cb?x={id}"]

        let cases: [([String: Any], String, String)] = [
            (["data": [["id": "1"]]], "endpoint", "no endpoint"),
            (["endpoint": ["url": "ftp://api.partner.example/x"], "data": [["id": "1"]]], "endpoint.url", "not http(s)"),
            (["endpoint": ["url": "not a url"], "data": [["id": "1"]]], "endpoint.url", "not a URL"),
            (["endpoint": ["url": "https://{host}/cb"], "data": [["id": "1"]]], "endpoint.url", "host placeholder"),
            (["endpoint": ["url": "https://api.partner.example/cb?x={id"], "data": [["id": "1"]]], "endpoint.url", "unclosed {"),
            (["endpoint": ["url": "https://api.partner.example/cb", "method": "BREW"], "data": [["id": "1"]]], "endpoint.method", "bad method"),
            (["endpoint": endpoint, "data": ["id": "1"]], "data", "data an object"),
            (["endpoint": endpoint, "data": [1, 2]], "data[0]", "data of numbers"),
            (["endpoint": endpoint, "data": []], "data", "empty data"),
            (["endpoint": endpoint, "data": [["id": "1"], ["id": "2"], ["id": "3"]]], "data", "too many objects"),
        ]
        for (job, field, comment) in cases {
            expectRefusal(try await post(tracker, job), 400, "invalid_request", field: field, comment)
        }
        let big = (0..<2).map { _ in ["id": String(repeating: "x", count: 1_500)] }
        expectRefusal(try await post(tracker, ["endpoint": endpoint, "data": big]), 413, "too_large", "body over postback.maxBodyBytes")
        let malformed = try await HTTP.post(
            "\(tracker.baseURL)/v1/postback", body: Data("{\"endpoint\":".utf8),
            headers: ["Content-Type": "application/json", "Authorization": HTTP.basicAuth(BeaconStack.writeKey)])
        expectRefusal(malformed, 400, "invalid_json", "malformed JSON")

        let job: [String: Any] = ["endpoint": endpoint, "data": [["id": "1"]]]
        expectRefusal(try await post(tracker, job, writeKey: "not-a-key"), 401, "unauthorized", "unknown key")
        expectRefusal(try await post(tracker, job, writeKey: nil), 401, "unauthorized", "no key")
        let foreign = try await HTTP.post(
            "\(tracker.baseURL)/v1/postback", body: try JSONSerialization.data(withJSONObject: job),
            headers: ["Content-Type": "application/json", "Authorization": HTTP.basicAuth(BeaconStack.writeKey), "Origin": "https://evil.example"])
        expectRefusal(foreign, 403, "origin_not_allowed", "a page the app does not allow")
        // A preflight is answered as for the mail routes.
        let preflight = try await HTTP.send("OPTIONS", "\(tracker.baseURL)/v1/postback", body: nil, headers: [
            "Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
        ])
        #expect((200..<300).contains(preflight.status), "\(preflight.status) \(preflight.headers)")

        #expect(try redis.command(["XLEN", stack.webhookStream]).checked().integer == 0, "nothing written for a refused job")
        let metrics = try await HTTP.get("\(tracker.baseURL)/metrics")
        #expect(postbackRequests(metrics.text, "invalid_request") == Double(cases.count), "\(metrics.text)")
        #expect(postbackRequests(metrics.text, "unauthorized") == 2, "\(metrics.text)")
        _ = try await tracker.terminate()
    }
}
