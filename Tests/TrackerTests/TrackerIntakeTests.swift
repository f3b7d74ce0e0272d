import BeaconCore
import BeaconRedis
import BeaconTestSupport
import CompressNIO
import Foundation
import NIOCore
import Testing

/// The tracker as a client sees it, against a real Redis.
@Suite(.serialized) struct TrackerIntakeTests {
    let stack = BeaconStack()

    func streamEntries(_ redis: RedisConnection) throws -> [[String: Any]] {
        try StreamEvents.read(redis, stream: stack.stream).compactMap { event in
            try? JSONSerialization.jsonObject(with: Data(event)) as? [String: Any]
        }
    }

    @Test func segmentCallsLandInTheStreamStamped() async throws {
        let tracker = try await stack.startTracker()
        let redis = try RedisConnection(try TestEnvironment.redisURL())
        defer { _ = try? redis.command(["DEL", stack.stream]) }

        for type in ["track", "identify", "page", "screen", "group", "alias"] {
            let reply = try await HTTP.postJSON(
                "\(tracker.baseURL)/v1/\(type)",
                json: ["userId": "u1", "event": "E", "groupId": "g", "previousId": "p", "messageId": "\(stack.runId)-\(type)"],
                writeKey: BeaconStack.writeKey)
            #expect(reply.status == 200, "\(type): \(reply.text)")
            #expect(try reply.json()["success"] as? Bool == true)
        }
        // The write key in the body works too, and a missing messageId is assigned.
        let bodyKey = try await HTTP.post(
            "\(tracker.baseURL)/v1/track", body: Data(#"{"writeKey":"test-write-key","anonymousId":"a1","event":"Body Key"}"#.utf8),
            headers: ["Content-Type": "application/json", "User-Agent": "TestAgent/1.0", "X-Forwarded-For": "81.2.69.142"])
        #expect(bodyKey.status == 200, "\(bodyKey.text)")

        let entries = try streamEntries(redis)
        #expect(entries.count == 7)
        #expect(entries.prefix(6).map { $0["type"] as? String } == ["track", "identify", "page", "screen", "group", "alias"])
        let last = try #require(entries.last)
        #expect((last["messageId"] as? String)?.isEmpty == false)
        #expect(last["writeKey"] == nil || last["writeKey"] as? String == BeaconStack.writeKey)
        #expect(last["app"] as? String == BeaconStack.app)
        #expect(last["receivedAt"] as? String != nil)
        let context = try #require(last["context"] as? [String: Any])
        #expect(context["userAgent"] as? String == "TestAgent/1.0")
        // 127.0.0.1 is a trusted proxy in this test, so X-Forwarded-For is believed.
        #expect(context["ip"] as? String == "81.2.69.142")
        try await tracker.terminate()
    }

    /// What analytics.js (the browser SDK) sends: its standard dispatcher posts
    /// `text/plain` JSON with the write key inside to `/v1/<first letter>`, its
    /// batching dispatcher posts to `/v1/b` with Basic auth and X-Retry-Count.
    @Test func theBrowserSDKsShortPathsLandInTheStreamAsTheLongOnes() async throws {
        let tracker = try await stack.startTracker(extra: ["BEACON_CORS_TESTAPP_ALLOWED_ORIGINS": "https://shop.example.com"])
        let redis = try RedisConnection(try TestEnvironment.redisURL())
        defer { _ = try? redis.command(["DEL", stack.stream]) }
        let origin = "https://shop.example.com"
        let types = ["t": "track", "i": "identify", "p": "page", "s": "screen", "g": "group", "a": "alias"]
        for (path, type) in types.sorted(by: { $0.key < $1.key }) {
            let body = #"{"writeKey":"\#(BeaconStack.writeKey)","userId":"u1","event":"E","groupId":"g","previousId":"p","messageId":"\#(stack.runId)-\#(path)"}"#
            let reply = try await HTTP.post(
                "\(tracker.baseURL)/v1/\(path)", body: Data(body.utf8), headers: ["Content-Type": "text/plain;charset=UTF-8", "Origin": origin])
            #expect(reply.status == 200, "/v1/\(path): \(reply.text)")
            #expect(reply.header("Access-Control-Allow-Origin") == origin)
        }
        let batch = #"{"batch":[{"type":"track","event":"B","userId":"u1","messageId":"\#(stack.runId)-b"}],"sentAt":"2026-01-01T00:00:00Z"}"#
        let batched = try await HTTP.post(
            "\(tracker.baseURL)/v1/b", body: Data(batch.utf8),
            headers: ["Content-Type": "application/json", "Origin": origin, "X-Retry-Count": "2",
                      "Authorization": "Basic " + Data("\(BeaconStack.writeKey):".utf8).base64EncodedString()])
        #expect(batched.status == 200, "\(batched.text)")
        #expect(batched.header("Access-Control-Allow-Origin") == origin)

        // Another app's page is refused, with the CORS header so that the SDK sees why.
        let elsewhere = try await HTTP.post(
            "\(tracker.baseURL)/v1/t", body: Data(#"{"writeKey":"\#(BeaconStack.writeKey)","userId":"u1","event":"E"}"#.utf8),
            headers: ["Content-Type": "text/plain", "Origin": "https://evil.example.net"])
        #expect(elsewhere.status == 403, "\(elsewhere.text)")
        #expect(elsewhere.header("Access-Control-Allow-Origin") == "https://evil.example.net")
        #expect(try (elsewhere.json()["error"] as? [String: Any])?["code"] as? String == "origin_not_allowed")

        let entries = try streamEntries(redis)
        let byId = Dictionary(entries.compactMap { e in (e["messageId"] as? String).map { ($0, e) } }, uniquingKeysWith: { a, _ in a })
        for (path, type) in types {
            let entry = try #require(byId["\(stack.runId)-\(path)"], "/v1/\(path)")
            #expect(entry["type"] as? String == type, "/v1/\(path)")
            #expect(entry["app"] as? String == BeaconStack.app)
        }
        #expect(byId["\(stack.runId)-b"]?["event"] as? String == "B")
        #expect(entries.count == 7)
        _ = try redis.command(["DEL", stack.stream])

        // A gzip batch, as Segment's HTTP API takes it.
        var gzipBatch = ByteBuffer(string: #"{"batch":[{"type":"track","event":"Zipped","userId":"u1","messageId":"\#(stack.runId)-z"}]}"#)
        let zipped = try await HTTP.post(
            "\(tracker.baseURL)/v1/batch", body: Data(try gzipBatch.compress(with: .gzip()).readableBytesView),
            headers: ["Content-Type": "application/json", "Content-Encoding": "gzip",
                      "Authorization": "Basic " + Data("\(BeaconStack.writeKey):".utf8).base64EncodedString()])
        #expect(zipped.status == 200, "\(zipped.text)")
        #expect(try streamEntries(redis).map { $0["event"] as? String } == ["Zipped"])
        let metrics = try await HTTP.get("\(tracker.baseURL)/metrics").text
        #expect(PrometheusText.value(metrics, "beacon_tracker_retried_requests_total") == 1)
        #expect(PrometheusText.value(metrics, #"beacon_tracker_requests_rejected_total{reason="origin_not_allowed"}"#) == 1)
        try await tracker.terminate()
    }

    /// The writer packs main events into stream entries: a batch goes whole
    /// into one entry even above `redis.eventsPerEntry`, concurrent requests
    /// share entries up to it, a lone event keeps the plain `e` shape, and
    /// every event is there once.
    @Test func eventsArePackedIntoStreamEntriesUpToTheBound() async throws {
        let tracker = try await stack.startTracker(extra: ["BEACON_REDIS_EVENTS_PER_ENTRY": "4"])
        let redis = try RedisConnection(try TestEnvironment.redisURL())
        defer { _ = try? redis.command(["DEL", stack.stream]) }
        func entries() throws -> [StreamMessage] {
            try StreamMessage.parseList(try redis.command(["XRANGE", stack.stream, "-", "+"]).checked())
        }

        let lone = try await HTTP.postJSON(
            "\(tracker.baseURL)/v1/track", json: ["userId": "u1", "event": "Lone", "messageId": "\(stack.runId)-lone"],
            writeKey: BeaconStack.writeKey)
        #expect(lone.status == 200, "\(lone.text)")
        let first = try entries()
        #expect(first.count == 1)
        #expect(first.first?.fields.map(\.name) == [StreamEntry.eventField])

        let batch = (0..<7).map { ["type": "track", "userId": "u1", "event": "Batched", "messageId": "\(stack.runId)-b\($0)"] }
        let batched = try await HTTP.postJSON("\(tracker.baseURL)/v1/batch", json: ["batch": batch], writeKey: BeaconStack.writeKey)
        #expect(batched.status == 200, "\(batched.text)")
        let second = try entries().dropFirst()
        #expect(second.count == 1, "a batch of 7 is one entry, though the bound is 4")
        #expect(second.first?.fields.map(\.name) == Array(repeating: StreamEntry.packedField, count: 7))

        try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<40 {
                group.addTask {
                    try await HTTP.postJSON(
                        "\(tracker.baseURL)/v1/track", json: ["userId": "u\(index)", "event": "Many", "messageId": "\(stack.runId)-m\(index)"],
                        writeKey: BeaconStack.writeKey).status
                }
            }
            for try await status in group { #expect(status == 200) }
        }
        let many = try entries().dropFirst(2)
        #expect(many.allSatisfy { $0.events.count <= 4 }, "\(many.map(\.events.count))")
        let ids = try StreamEvents.read(redis, stream: stack.stream).compactMap { event in
            (try? JSONSerialization.jsonObject(with: Data(event)) as? [String: Any])?["messageId"] as? String
        }
        let expected = ["\(stack.runId)-lone"] + (0..<7).map { "\(stack.runId)-b\($0)" } + (0..<40).map { "\(stack.runId)-m\($0)" }
        #expect(ids.count == expected.count)
        #expect(Set(ids) == Set(expected))
        try await tracker.terminate()
    }

    @Test func pixelAnswersAGifAndRecordsATrackEvent() async throws {
        let tracker = try await stack.startTracker()
        let redis = try RedisConnection(try TestEnvironment.redisURL())
        defer { _ = try? redis.command(["DEL", stack.stream]) }
        let reply = try await HTTP.get("\(tracker.baseURL)/t/Email%20Opened?wk=\(BeaconStack.writeKey)&uid=u9&campaign=spring")
        #expect(reply.status == 200)
        #expect(reply.header("Content-Type") == "image/gif")
        #expect(Array(reply.body.prefix(6)) == Array("GIF89a".utf8))
        let entries = try streamEntries(redis)
        #expect(entries.count == 1)
        #expect(entries.first?["event"] as? String == "Email Opened")
        #expect(entries.first?["userId"] as? String == "u9")
        #expect((entries.first?["properties"] as? [String: Any])?["campaign"] as? String == "spring")

        let unknown = try await HTTP.get("\(tracker.baseURL)/t/x?wk=wrong")
        #expect(unknown.status == 401)
    }

    @Test func badInputGetsClearErrors() async throws {
        let tracker = try await stack.startTracker()
        let url = "\(tracker.baseURL)/v1/track"
        let auth = "Basic " + Data("\(BeaconStack.writeKey):".utf8).base64EncodedString()
        func post(_ body: Data, contentType: String? = "application/json", authorization: String? = auth) async throws -> HTTP.Reply {
            var headers: [String: String] = [:]
            if let contentType { headers["Content-Type"] = contentType }
            if let authorization { headers["Authorization"] = authorization }
            return try await HTTP.post(url, body: body, headers: headers)
        }
        func errorCode(_ reply: HTTP.Reply) throws -> String? {
            let body = try reply.json()
            #expect(body["success"] as? Bool == false)
            return (body["error"] as? [String: Any])?["code"] as? String
        }

        let malformed = try await post(Data(#"{"userId": "u1", "event": "#.utf8))
        #expect(malformed.status == 400)
        #expect(try errorCode(malformed) == "invalid_json")
        #expect(malformed.text.contains("malformed JSON"))

        let notObject = try await post(Data("[1,2]".utf8))
        #expect(notObject.status == 400)

        let oversizeEvent = try await post(Data(#"{"userId":"u","event":"big","properties":{"x":"\#(String(repeating: "a", count: 40_000))"}}"#.utf8))
        #expect(oversizeEvent.status == 413)
        #expect(try errorCode(oversizeEvent) == "too_large")

        let oversizeRequest = try await HTTP.post("\(tracker.baseURL)/v1/batch", body: Data(repeating: 0x20, count: 600_000),
                                                  headers: ["Content-Type": "application/json", "Authorization": auth])
        #expect(oversizeRequest.status == 413)

        let wrongKey = try await post(Data(#"{"userId":"u","event":"e"}"#.utf8), authorization: "Basic " + Data("nope:".utf8).base64EncodedString())
        #expect(wrongKey.status == 401)
        #expect(try errorCode(wrongKey) == "unauthorized")
        let noKey = try await post(Data(#"{"userId":"u","event":"e"}"#.utf8), authorization: nil)
        #expect(noKey.status == 401)

        let wrongType = try await post(Data("userId=u".utf8), contentType: "application/x-www-form-urlencoded")
        #expect(wrongType.status == 415)
        #expect(try errorCode(wrongType) == "unsupported_media_type")

        // A batch with some bad members keeps the good ones and says which were refused.
        let mixed = try await HTTP.postJSON(
            "\(tracker.baseURL)/v1/batch",
            json: ["batch": [["type": "track", "userId": "u", "event": "ok"], "not an object", ["type": "track", "userId": "u", "event": "ok2"]]],
            writeKey: BeaconStack.writeKey)
        #expect(mixed.status == 200)
        let body = try mixed.json()
        #expect(body["accepted"] as? Int == 2)
        #expect((body["rejected"] as? [[String: Any]])?.first?["index"] as? Int == 1)

        // Still serving, and the refusals are counted.
        #expect(try await HTTP.get("\(tracker.baseURL)/healthz").status == 200)
        let metrics = try await HTTP.get("\(tracker.baseURL)/metrics").text
        #expect(metrics.contains(#"beacon_tracker_requests_rejected_total{reason="invalid_json"} 1"#))
        #expect(metrics.contains(#"beacon_tracker_requests_rejected_total{reason="unsupported_media_type"} 1"#))
        try await tracker.terminate()
    }

    /// With Redis away, requests wait (bounded), the buffer fills, new ones
    /// get 503 with Retry-After and /readyz says why; once Redis is back the
    /// waiting request succeeds and its events are in the stream.
    @Test func redisOutageIsBoundedAndNothingAcknowledgedIsLost() async throws {
        let port = FreePort.next()
        let tracker = try await stack.startTracker(
            redisURL: "redis://127.0.0.1:\(port)",
            extra: ["BEACON_TRACKER_BUFFER_EVENTS": "50", "BEACON_TRACKER_ACK_TIMEOUT_MS": "20000", "BEACON_REDIS_TIMEOUT_MS": "300"])
        try await Await.condition("/readyz to report redis down") {
            let reply = try await HTTP.get("\(tracker.baseURL)/readyz")
            return reply.status == 503 && reply.text.contains("redis")
        }
        let payload = try JSONSerialization.data(withJSONObject: stack.batch(40))
        let url = "\(tracker.baseURL)/v1/batch"
        let waiting = Task {
            try await HTTP.post(url, body: payload, headers: ["Content-Type": "application/json", "Authorization": HTTP.basicAuth(BeaconStack.writeKey)])
        }
        try await Await.condition("the first batch to be buffered") {
            PrometheusText.value(try await HTTP.get("\(tracker.baseURL)/metrics").text, "beacon_tracker_buffered_events") == 40
        }
        let refused = try await HTTP.postJSON("\(tracker.baseURL)/v1/batch", json: stack.batch(40, from: 40), writeKey: BeaconStack.writeKey)
        #expect(refused.status == 503)
        #expect(refused.header("Retry-After") == "1")

        let redisDir = try TestEnvironment.outputDir() + "/redis-\(port)"
        try FileManager.default.createDirectory(atPath: redisDir, withIntermediateDirectories: true)
        let redisServer = Process()
        redisServer.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        redisServer.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", redisDir]
        redisServer.standardOutput = FileHandle.nullDevice
        try redisServer.run()
        defer { if redisServer.isRunning { kill(redisServer.processIdentifier, SIGKILL) } }

        let accepted = try await waiting.value
        #expect(accepted.status == 200)
        let redis = try RedisConnection("redis://127.0.0.1:\(port)")
        let ids = try streamEntries(redis).compactMap { $0["messageId"] as? String }
        #expect(Set(ids) == Set((0..<40).map { stack.messageId("m", $0) }))
        try await Await.condition("/readyz to recover") { try await HTTP.get("\(tracker.baseURL)/readyz").status == 200 }
        try await tracker.terminate()
        _ = try? redis.command(["SHUTDOWN", "NOSAVE"])
        try await Await.condition("the test's redis-server to stop") { !redisServer.isRunning }
    }
}
