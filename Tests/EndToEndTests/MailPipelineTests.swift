import BeaconRedis
import BeaconTestSupport
import Crypto
import Foundation
import Testing

/// Mail registrations, tracker → Redis → enricher → Kafka
/// `beacon.mail.registrations`, on the real parts: every change to a
/// registration arrives keyed by its id, in order, the account sealed, and
/// the mail stream is emptied once Kafka has them.
@Suite(.serialized) struct MailPipelineTests {
    @Test func registerDeferAndStopReachTheMailTopicInOrder() async throws {
        let stack = BeaconStack()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mail-e2e-\(stack.runId)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyFile = directory.appendingPathComponent("public.pem").path, secretFile = directory.appendingPathComponent("secret").path
        try P256.KeyAgreement.PrivateKey().publicKey.pemRepresentation.write(toFile: keyFile, atomically: true, encoding: .utf8)
        try String(repeating: "s", count: 40).write(toFile: secretFile, atomically: true, encoding: .utf8)
        let tracker = try await stack.startTracker(extra: ["BEACON_MAIL_PUBLIC_KEY_FILE": keyFile, "BEACON_MAIL_TOKEN_SECRET_FILE": secretFile])
        let enricher = try await stack.startEnricher()
        let password = "e2e-secret-\(stack.runId)"

        let registered = try await HTTP.postJSON("\(tracker.baseURL)/v1/mail/register", json: [
            "device": ["token": "token-\(stack.runId)", "type": "android"],
            "account": ["host": "imap.example.com", "username": "someone", "password": password],
        ], writeKey: BeaconStack.writeKey)
        #expect(registered.status == 202, "\(registered.text)")
        let id = try #require(try registered.json()["registrationId"] as? String)
        let token = try #require(try registered.json()["stopToken"] as? String)
        let until = ISO8601DateFormatter().string(from: Date().addingTimeInterval(300))
        let deferred = try await HTTP.postJSON(
            "\(tracker.baseURL)/v1/mail/defer", json: ["registrationId": id, "stopToken": token, "until": until], writeKey: BeaconStack.writeKey)
        #expect(deferred.status == 202, "\(deferred.text)")
        let stopped = try await HTTP.postJSON(
            "\(tracker.baseURL)/v1/mail/stop", json: ["registrationId": id, "stopToken": token], writeKey: BeaconStack.writeKey)
        #expect(stopped.status == 202, "\(stopped.text)")

        let topic = try KafkaCollector(topic: "beacon.mail.registrations") { $0["registrationId"] as? String == id }
        try await topic.collect(until: "register, defer and stop of \(id)") { $0.messages.count >= 3 }
        #expect(topic.messages.map { $0.json["type"] as? String } == ["register", "defer", "stop"])
        #expect(topic.messages.allSatisfy { $0.message.key == Array(id.utf8) })
        #expect(Set(topic.messages.map(\.message.partition)).count == 1)
        #expect(topic.messages.allSatisfy { !String(decoding: $0.message.value, as: UTF8.self).contains(password) })
        let account = try #require(topic.messages[0].json["account"] as? [String: Any])
        #expect((account["sealed"] as? String)?.hasPrefix("v1.") == true)
        #expect(topic.messages[1].json["until"] as? String == until)

        let redis = try RedisConnection(try TestEnvironment.redisURL())
        defer { _ = try? redis.command(["DEL", stack.mailStream]) }
        try await Await.condition("the mail stream emptied once Kafka confirmed", timeout: .seconds(30)) {
            try redis.command(["XLEN", stack.mailStream]).checked().integer == 0
        }
        _ = try await enricher.terminate()
        _ = try await tracker.terminate()
    }
}
