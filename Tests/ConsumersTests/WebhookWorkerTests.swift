import BeaconCore
import BeaconKafka
import BeaconRedis
import BeaconTestSupport
import Crypto
import Foundation
import Testing

/// The webhook delivery worker (`--only webhooks`) against real Kafka and
/// Redis and a real HTTP endpoint on 127.0.0.1, each test on its own topics,
/// group and schedule keys.
@Suite(.serialized) struct WebhookWorkerTests {
    let run = UUID().uuidString.lowercased().prefix(8).description
    var app: String { "app\(run)" }
    var topic: String { "test.webhooks.\(run)" }
    var failedTopic: String { "test.webhooks.failed.\(run)" }
    var scheduleKey: String { "test:\(run):webhooks" }
    var attemptsTopic: String { "test.webhooks.attempts.\(run)" }
    static let secret = Array((0..<32).map { UInt8($0 * 7 % 256) })
    static let rotated = Array((0..<24).map { UInt8(255 - $0) })

    func startWorker(_ extra: [String: String] = [:]) async throws -> ServiceProcess {
        let brokers = try TestEnvironment.kafkaBrokers()
        try KafkaAdmin.createTopics(brokers: brokers, topics: [(topic, 3), (failedTopic, 1), (attemptsTopic, 1)], timeoutMs: 10_000)
        var env = [
            "BEACON_KAFKA_WEBHOOK_ATTEMPTS_TOPIC": attemptsTopic,
            "BEACON_CONSUMERS_ENABLED": "webhooks", "BEACON_KAFKA_BROKERS": brokers, "BEACON_KAFKA_WEBHOOK_TOPIC": topic,
            "BEACON_KAFKA_WEBHOOK_FAILED_TOPIC": failedTopic, "BEACON_KAFKA_GROUP_PREFIX": "test-\(run)-",
            "BEACON_KAFKA_SESSION_TIMEOUT_MS": "6000", "BEACON_REDIS_URL": try TestEnvironment.redisURL(),
            "BEACON_MONGO_URL": try TestEnvironment.mongoURL(), "BEACON_MONGO_DATABASE": "beacon_\(run)",
            "BEACON_WEBHOOKS_SCHEDULE_KEY": scheduleKey, "BEACON_WEBHOOKS_ALLOW_PRIVATE": "true",
            "BEACON_WEBHOOKS_FIRST_RETRY_MS": "300", "BEACON_WEBHOOKS_TIMEOUT_MS": "5000",
            "BEACON_WEBHOOKS_SIGNING_SECRETS_\(app.uppercased())": "whsec_" + Data(Self.secret).base64EncodedString(),
        ]
        for (key, value) in extra { env[key] = value }
        return try await ServiceProcess(executable: "beacon-consumers", name: "webhooks", port: FreePort.next(), environment: env)
    }

    func request(_ id: String, url: String, method: String = "POST", body: String? = #"{"hello":"world"}"#) -> WebhookRequest {
        WebhookRequest(
            id: "\(run)-\(id)", app: app, source: .postback(jobId: "job-\(run)", index: 0), method: method, url: url,
            headers: [.init(name: "Content-Type", value: "application/json")], body: body, createdAt: Timestamp.iso8601(Date()))
    }

    func produce(_ requests: [WebhookRequest]) throws {
        let producer = try KafkaProducer(config: KafkaProducerConfig(brokers: try TestEnvironment.kafkaBrokers())) { _ in }
        for (index, request) in requests.enumerated() {
            try producer.produce(topic: topic, key: Array(request.id.utf8), value: JSONWriter.bytes(request.json), token: UInt64(index + 1))
        }
        try producer.flush(timeoutMs: 10_000)
    }

    func scheduled() throws -> Int {
        let redis = RedisClient(url: try RedisURL(try TestEnvironment.redisURL()))
        return Int(try redis.command(["ZCARD", "\(scheduleKey):due"]).integer ?? -1)
    }

    static func signature(_ secret: [UInt8], id: String, timestamp: String, body: String) -> String {
        "v1," + Data(HMAC<SHA256>.authenticationCode(for: Array("\(id).\(timestamp).\(body)".utf8), using: SymmetricKey(data: secret)))
            .base64EncodedString()
    }

    @Test func deliversWithStandardWebhooksSignaturesOfBothSecretsDuringARotation() async throws {
        let server = try await WebhookTestServer.start()
        let secrets = ["whsec_" + Data(Self.secret).base64EncodedString(), "whsec_" + Data(Self.rotated).base64EncodedString()]
        let worker = try await startWorker(["BEACON_WEBHOOKS_SIGNING_SECRETS_\(app.uppercased())": secrets.joined(separator: ",")])
        try produce([request("signed", url: "\(server.baseURL)/ok/signed")])
        try await Await.condition("the call", timeout: .seconds(60)) { !server.calls(to: "/ok/signed").isEmpty }
        let call = try #require(server.calls(to: "/ok/signed").first)
        let id = try #require(call.headers["webhook-id"]), timestamp = try #require(call.headers["webhook-timestamp"])
        #expect(id == "\(run)-signed")
        #expect(abs((Double(timestamp) ?? 0) - Date().timeIntervalSince1970) < 60)
        #expect(call.body == #"{"hello":"world"}"#)
        #expect(call.headers["content-type"] == "application/json")
        let signatures = (call.headers["webhook-signature"] ?? "").split(separator: " ").map(String.init)
        #expect(signatures == [
            Self.signature(Self.secret, id: id, timestamp: timestamp, body: call.body),
            Self.signature(Self.rotated, id: id, timestamp: timestamp, body: call.body),
        ])
        try await Await.condition("the schedule to empty", timeout: .seconds(10)) { try scheduled() == 0 }
        // The live view's tail of the attempts.
        let tail = try KafkaCollector(topic: attemptsTopic) { $0["requestId"] as? String == "\(run)-signed" }
        try await tail.collect(until: "the attempt on the attempts topic") { !$0.messages.isEmpty }
        #expect(tail.messages.first?.json["outcome"] as? String == "delivered")
        #expect(tail.messages.first?.json["status"] as? Int == 200)
        #expect(try await worker.terminate() == 0)
        #expect(worker.errorLines().isEmpty, "\(worker.errorLines())")
        await server.stop()
    }

    @Test func retriesOnTheScheduleUntilDeliveredAndGivesUpOnPermanentOrExhaustedOnes() async throws {
        let server = try await WebhookTestServer.start()
        let worker = try await startWorker(["BEACON_WEBHOOKS_MAX_ATTEMPTS": "3"])
        let failed = try KafkaCollector(topic: failedTopic) { (($0["request"] as? [String: Any])?["id"] as? String)?.hasPrefix(run) == true }
        try produce([
            request("recovers", url: "\(server.baseURL)/fail/2/recovers"), request("gone", url: "\(server.baseURL)/gone/x"),
            request("exhausted", url: "\(server.baseURL)/fail/99/exhausted"), request("slow", url: "\(server.baseURL)/slow/x"),
            request("redirect", url: "\(server.baseURL)/redirect/x"), request("endless", url: "\(server.baseURL)/endless/x", method: "GET", body: nil),
        ])
        try await failed.collect(until: "gone, exhausted, slow and redirect in the failed topic", timeout: .seconds(60)) { $0.messages.count >= 4 }
        let records = Dictionary(uniqueKeysWithValues: failed.messages.map {
            ((($0.json["request"] as? [String: Any])?["id"] as? String ?? "").replacingOccurrences(of: "\(run)-", with: ""), $0.json)
        })
        #expect(Set(records.keys) == ["gone", "exhausted", "slow", "redirect"])
        #expect((records["gone"]?["attempts"] as? [Any])?.count == 1, "410 is permanent: not retried")
        #expect((records["gone"]?["reason"] as? String)?.contains("permanent") == true)
        #expect((records["exhausted"]?["attempts"] as? [Any])?.count == 3)
        #expect(((records["exhausted"]?["attempts"] as? [[String: Any]])?.last?["status"] as? Int) == 500)
        #expect((records["slow"]?["attempts"] as? [[String: Any]])?.allSatisfy { $0["status"] == nil && $0["error"] != nil } == true,
                "a call slower than webhooks.timeoutMs is a failed attempt")
        #expect(((records["redirect"]?["attempts"] as? [[String: Any]])?.first?["status"] as? Int) == 302)
        #expect(server.calls(to: "/ok/redirected").isEmpty, "redirects are not followed")
        #expect(server.calls(to: "/fail/2/recovers").count == 3, "two failures, then delivered")
        #expect(Set(server.calls(to: "/fail/2/recovers").map { $0.headers["webhook-id"] ?? "" }) == ["\(run)-recovers"])
        #expect(server.calls(to: "/endless/x").count == 1, "an endless answer is read up to the bound and delivered")
        // The backoff grows: from the attempts' own start times (Unix ms) in
        // the record, as a retry is due that long after its attempt began.
        // The delays are drawn from the upper half of 300 ms, then of 600 ms,
        // so the gaps are at least 150 ms and 300 ms; a loaded machine only
        // lengthens them, so only the lower bounds are asserted.
        let starts = ((records["exhausted"]?["attempts"] as? [[String: Any]]) ?? []).compactMap { ($0["at"] as? NSNumber)?.int64Value }
        let gaps = zip(starts.dropFirst(), starts).map { $0 - $1 }
        #expect(gaps.count == 2 && gaps[0] >= 150 && gaps[1] >= 300, "backoff grows: \(gaps) ms")
        #expect(server.calls(to: "/fail/99/exhausted").count == 3)
        try await Await.condition("the schedule to empty", timeout: .seconds(10)) { try scheduled() == 0 }
        #expect(try await worker.terminate() == 0)
        await server.stop()
    }

    @Test func aPartnersRetryAfterIsHonoured() async throws {
        let server = try await WebhookTestServer.start()
        let worker = try await startWorker()
        try produce([request("limited", url: "\(server.baseURL)/limited/x")])
        try await Await.condition("the second call", timeout: .seconds(30)) { server.calls(to: "/limited/x").count >= 2 }
        let calls = server.calls(to: "/limited/x")
        #expect(calls[1].at.timeIntervalSince(calls[0].at) >= 1.9, "Retry-After: 2 is waited for")
        #expect(try await worker.terminate() == 0)
        await server.stop()
    }

    /// Retries scheduled, the worker killed with SIGKILL: its successor
    /// delivers every request, and a request called twice carries one id.
    @Test func killNineLosesNoScheduledRetry() async throws {
        let server = try await WebhookTestServer.start()
        let first = try await startWorker(["BEACON_WEBHOOKS_FIRST_RETRY_MS": "3000", "BEACON_WEBHOOKS_LEASE_MS": "2000"])
        let requests = (0..<50).map { request("k\($0)", url: "\(server.baseURL)/fail/1/k\($0)") }
        try produce(requests)
        try await Await.condition("every first call (failing)", timeout: .seconds(90)) { Set(server.calls(under: "/fail/1/").map(\.path)).count == 50 }
        first.kill()
        let second = try await startWorker(["BEACON_WEBHOOKS_FIRST_RETRY_MS": "3000", "BEACON_WEBHOOKS_LEASE_MS": "2000"])
        try await Await.condition("every request delivered", timeout: .seconds(90)) {
            (0..<50).allSatisfy { server.calls(to: "/fail/1/k\($0)").count >= 2 }
        }
        for index in 0..<50 {
            #expect(Set(server.calls(to: "/fail/1/k\(index)").map { $0.headers["webhook-id"] ?? "" }) == ["\(run)-k\(index)"])
        }
        try await Await.condition("the schedule to empty", timeout: .seconds(10)) { try scheduled() == 0 }
        #expect(try await second.terminate() == 0)
        await server.stop()
    }

    /// Down for longer than the old in-process retries lasted (about 6 s):
    /// the breaker opens, the requests wait in the schedule, and all are
    /// delivered once it is back; another host is served meanwhile.
    @Test func aFlappingHostTripsItsBreakerWhileAnotherKeepsItsLatency() async throws {
        let server = try await WebhookTestServer.start()
        server.setDown(true)
        let worker = try await startWorker([
            "BEACON_WEBHOOKS_FIRST_RETRY_MS": "500", "BEACON_WEBHOOKS_BREAKER_FAILURES": "3", "BEACON_WEBHOOKS_BREAKER_COOLDOWN_MS": "1000",
        ])
        // The same server under two host names: two hosts to the worker.
        let down = (0..<20).map { request("down\($0)", url: "http://127.0.0.1:\(server.port)/flaky/\($0)") }
        try produce(down)
        try await Await.condition("the breaker to open", timeout: .seconds(30)) {
            let metrics = try await HTTP.get("\(worker.baseURL)/metrics").text
            return metrics.contains("beacon_webhooks_breaker_state{host=\"127.0.0.1:\(server.port)\"} 2")
        }
        let started = Date()
        try produce((0..<20).map { request("up\($0)", url: "http://localhost:\(server.port)/ok/\($0)") })
        try await Await.condition("the healthy host's calls", timeout: .seconds(20)) { server.calls(under: "/ok/").count == 20 }
        let healthyTook = Date().timeIntervalSince(started)
        let callsWhileDown = server.calls(under: "/flaky/").count
        try await Task.sleep(for: .seconds(6))  // the outage itself: time passing is what is tested
        #expect(server.calls(under: "/flaky/").count < callsWhileDown + 20, "an open breaker holds the calls back")
        server.setDown(false)
        try await Await.condition("every request of the recovered host", timeout: .seconds(60)) {
            let delivered = Set(server.calls(under: "/flaky/").map(\.path)).count == 20
            return try delivered && scheduled() == 0
        }
        #expect(healthyTook < 5, "the healthy host was served in \(healthyTook) s")
        let metrics = try await HTTP.get("\(worker.baseURL)/metrics").text
        #expect(metrics.contains("beacon_webhooks_deferred_total{host=\"127.0.0.1:\(server.port)\",reason=\"breaker_open\"}"))
        #expect(try await worker.terminate() == 0)
        await server.stop()
    }

    /// Parked requests go back to the worker: counted by a dry run through
    /// the admin API, filtered, and re-enqueued by `beacon-consumers replay`.
    @Test func replayReenqueuesFailedWebhooks() async throws {
        let server = try await WebhookTestServer.start()
        let worker = try await startWorker(["BEACON_CONSUMERS_ADMIN_TOKENS": "test-admin-token"])
        let failed = try KafkaCollector(topic: failedTopic) { (($0["request"] as? [String: Any])?["id"] as? String)?.hasPrefix(run) == true }
        try produce([request("gone1", url: "\(server.baseURL)/gone/1"), request("gone2", url: "\(server.baseURL)/gone/2")])
        try await failed.collect(until: "both in the failed topic") { $0.messages.count >= 2 }
        let auth = ["Authorization": "Bearer test-admin-token"]
        let dry = try await HTTP.post("\(worker.baseURL)/replay?from=webhooks&app=\(app)&dryRun=true", body: Data(), headers: auth).json()
        #expect(dry["matched"] as? Int == 2 && dry["replayed"] as? Int == 0)
        let later = Timestamp.iso8601(Date().addingTimeInterval(3_600))
        let none = try await HTTP.post("\(worker.baseURL)/replay?app=\(app)&since=\(later)&dryRun=true", body: Data(), headers: auth).json()
        #expect(none["matched"] as? Int == 0, "since filters by the time of failure")
        #expect(try await HTTP.post("\(worker.baseURL)/replay?colour=red", body: Data(), headers: auth).status == 400)
        #expect(try await HTTP.post("\(worker.baseURL)/replay", body: Data()).status == 401)

        let replay = Process()
        replay.executableURL = URL(fileURLWithPath: try TestEnvironment.binDir() + "/beacon-consumers")
        replay.arguments = ["replay", "--from", "webhooks", "--app", app, "--host", "127.0.0.1"]
        replay.environment = ProcessInfo.processInfo.environment.merging([
            "BEACON_KAFKA_BROKERS": try TestEnvironment.kafkaBrokers(), "BEACON_KAFKA_WEBHOOK_TOPIC": topic,
            "BEACON_KAFKA_WEBHOOK_FAILED_TOPIC": failedTopic, "BEACON_LOG_LEVEL": "warning",
        ]) { _, new in new }
        let output = Pipe()
        replay.standardOutput = output
        try replay.run()
        replay.waitUntilExit()
        #expect(replay.terminationStatus == 0)
        let printed = try JSONSerialization.jsonObject(with: output.fileHandleForReading.readDataToEndOfFile()) as? [String: Any]
        #expect(printed?["replayed"] as? Int == 2)
        try await Await.condition("both called again", timeout: .seconds(30)) {
            server.calls(to: "/gone/1").count == 2 && server.calls(to: "/gone/2").count == 2
        }
        #expect(Set(server.calls(to: "/gone/1").map { $0.headers["webhook-id"] ?? "" }) == ["\(run)-gone1"], "a replay keeps the request's id")
        #expect(try await worker.terminate() == 0)
        await server.stop()
    }
}
