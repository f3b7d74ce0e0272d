import BeaconCore
import BeaconTestSupport
import Foundation
import Testing
@testable import PusherService

/// The pusher's send and outcome path: a push request through `PushSender`
/// to the APNs stand-in, and what becomes of it on the feedback topic.
@Suite struct PushSenderTests {
    func request(_ token: String, app: String = "shop", platform: PushPlatform = .ios, title: String? = "Hi") -> PushRequest {
        PushRequest(requestId: "r-\(token)", app: app, platform: platform, token: token, userId: "u1", sourceMessageId: "m-1",
                    rule: "big-order", notification: PushNotification(title: title, body: "B"), createdAt: "2026-12-01T00:00:00.000Z")
    }

    /// A sender for app "shop" through the APNs test fixture's client.
    func withSender(dryRun: Bool = false, _ body: @escaping (PushSender, APNsTestServer) async throws -> Void) async throws {
        let retry = PushRetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(10), maxDelay: .milliseconds(50))
        try await APNsFixture.run(configuration: { $0.retry = retry }) { fixture in
            try await body(PushSender(apps: PushApps(apns: ["shop": fixture.client], fcm: [:]), retry: retry, dryRun: dryRun), fixture.server)
        }
    }

    static func token(_ seed: String) -> String { String(repeating: seed, count: 64).prefix(64).description }

    @Test func outcomesOfTheSendPath() async throws {
        try await withSender { sender, server in
            let delivered = Self.token("a"), gone = Self.token("b"), busy = Self.token("c"), broken = Self.token("d")
            server.script(token: gone, responses: [.unregistered])
            server.script(token: busy, responses: [.tooManyRequests(retryAfter: 0), .ok])
            server.script(token: broken, responses: Array(repeating: .internalServerError, count: 5))

            let ok = await sender.send(request(delivered))
            #expect(ok.status == .delivered && ok.attempts == 1)
            let dead = await sender.send(request(gone))
            #expect(dead.status == .invalidToken && dead.reason == "Unregistered")
            let retried = await sender.send(request(busy))
            #expect(retried.status == .delivered && retried.attempts == 2)
            let exhausted = await sender.send(request(broken))
            #expect(exhausted.status == .retryExhausted && exhausted.attempts == 3)
            let unknownApp = await sender.send(request(delivered, app: "other"))
            #expect(unknownApp.status == .noCredentials)
            let noFCM = await sender.send(request(delivered, platform: .android))
            #expect(noFCM.status == .noCredentials)

            // What reached APNs: the request as the push contract spelled it.
            let sent = try #require(server.received.first { $0.deviceToken == delivered })
            #expect(sent.json?["aps"]?["alert"]?["title"] == "Hi")
            #expect(sent.header("apns-id") == NotificationBuilder.apnsId(for: "r-\(delivered)"))
        }
    }

    @Test func aDryRunSendsNothing() async throws {
        try await withSender(dryRun: true) { sender, server in
            let outcome = await sender.send(request(Self.token("e")))
            #expect(outcome.status == .dryRun)
            #expect(server.received.isEmpty)
        }
    }

    @Test func theFeedbackRecordNamesTheRequestAndItsFate() {
        let request = request(Self.token("f"))
        let outcome = PushOutcome(status: .invalidToken, reason: "Unregistered", attempts: 1, latency: .milliseconds(12))
        let record = outcome.feedback(for: request, raw: request.json)
        #expect(record["requestId"] == .string(request.requestId))
        #expect(record["platform"] == "ios" && record["status"] == "invalid_token" && record["reason"] == "Unregistered")
        #expect(record["rule"] == "big-order" && record["sourceMessageId"] == "m-1")
        #expect(record["latencyMs"] == 12.0)
    }
}
