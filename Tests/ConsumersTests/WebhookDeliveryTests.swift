import BeaconCore
import BeaconTestSupport
import Foundation
import Synchronization
import Testing

@testable import ConsumersService

/// One call's parts, in process: signing, the retry schedule's arithmetic,
/// the breaker, and the address guard held between check and connect.
struct WebhookDeliveryTests {
    /// Standard Webhooks' own example (the specification's test vector).
    @Test func signsAsTheStandardWebhooksExample() throws {
        let secrets = try SigningSecrets(["app": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]], key: "webhooks.signingSecrets.<app>")
        let headers = WebhookSigner.headers(
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Array(#"{"test": 2432232314}"#.utf8),
            secrets: secrets.keys(for: "app"))
        #expect(headers.first { $0.0 == "webhook-signature" }?.1 == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        #expect(WebhookSigner.headers(id: "a", timestamp: 1, body: [], secrets: []).map(\.0) == ["webhook-id", "webhook-timestamp"])
        #expect(throws: SettingsError.self) { try SigningSecrets(["app": ["not-a-secret"]], key: "k") }
    }

    @Test func theScheduleDoublesWithJitterAndStopsAtItsAttemptsOrItsHorizon() {
        let policy = WebhookRetryPolicy(maxAttempts: 5, firstDelay: .seconds(10), horizon: .seconds(100), permanentStatuses: [410])
        #expect(policy.decide(attempts: 1, sinceFirst: .zero, random: 0) == .retry(after: .seconds(5)))
        guard case .retry(let longest) = policy.decide(attempts: 1, sinceFirst: .zero, random: 0.999_999) else { Issue.record("a retry"); return }
        #expect(longest > .seconds(9.9) && longest < .seconds(10))
        #expect(policy.decide(attempts: 3, sinceFirst: .zero, random: 0) == .retry(after: .seconds(20)))
        #expect(policy.decide(attempts: 2, sinceFirst: .zero, requested: .seconds(60), random: 0) == .retry(after: .seconds(60)))
        guard case .giveUp = policy.decide(attempts: 5, sinceFirst: .zero) else { Issue.record("the fifth attempt is the last"); return }
        guard case .giveUp = policy.decide(attempts: 4, sinceFirst: .seconds(90), random: 0) else { Issue.record("past the horizon"); return }
        #expect(policy.isPermanent(status: 410) && !policy.isPermanent(status: 500))
    }

    @Test func theBreakerOpensProbesOnceAndBacksOff() {
        var breaker = CircuitBreaker(threshold: 3, cooldown: .seconds(10))
        #expect(!breaker.failed(now: 0) && !breaker.failed(now: 1))
        #expect(breaker.failed(now: 2) && breaker.state == .open)
        #expect(breaker.admit(now: 5) == 12)
        #expect(breaker.admit(now: 12) == nil && breaker.state == .halfOpen, "one probe")
        #expect(breaker.admit(now: 12) != nil, "and only one")
        #expect(breaker.failed(now: 13) && breaker.openUntil == 33, "a failed probe doubles the cooldown")
        #expect(breaker.admit(now: 33) == nil)
        breaker.succeeded()
        #expect(breaker.state == .closed && breaker.admit(now: 34) == nil)
    }

    @Test func queryValuesAreRedactedInTheLog() {
        #expect(WebhookAttempt.redacted("https://h.test/p?token=abc&x=1#f") == "https://h.test/p?token=***&x=***#f")
        #expect(WebhookAttempt.redacted("https://h.test/p") == "https://h.test/p")
    }

    /// Answers differently the second time: the check sees one address, a
    /// second lookup (as a client resolving again would make) another.
    final class RebindingResolver: HostResolver {
        let answers: [String]
        let asked = Mutex(0)

        init(_ answers: [String]) { self.answers = answers }

        func resolve(_ host: String, allowPrivate: Bool) throws(ServiceError) -> [String] {
            let index = asked.withLock { count in defer { count += 1 }; return count }
            let address = answers[min(index, answers.count - 1)]
            if !allowPrivate, let bytes = Self.bytes(address), PublicAddressGuard.isPrivate(bytes) {
                throw .permanent("webhook host \(host) resolves to \(address), a private or reserved address")
            }
            return [address]
        }

        static func bytes(_ address: String) -> [UInt8]? {
            let parts = address.split(separator: ".").compactMap { UInt8($0) }
            return parts.count == 4 ? parts : nil
        }
    }

    /// Shut down at the end of each test that calls: AsyncHTTPClient insists.
    let clients = HostClients(connectTimeout: .seconds(5), hostConcurrency: 4)

    func delivery(_ resolver: any HostResolver, allowPrivate: Bool) -> WebhookDelivery {
        WebhookDelivery(
            clients: clients, resolver: resolver,
            secrets: try! SigningSecrets([:], key: "k"), timeout: .seconds(10), allowPrivate: allowPrivate, maxResponseBytes: 1_024)
    }

    func request(_ url: String) -> WebhookRequest {
        WebhookRequest(id: "r1", app: "a", source: .rule(name: "r", messageId: "m"), method: "POST", url: url, body: "{}", createdAt: "")
    }

    @Test func aNameThatRebindsToAPrivateAddressNeverReachesIt() async throws {
        let server = try await WebhookTestServer.start()
        // Public when checked, loopback afterwards: the call must go to the checked address.
        let resolver = RebindingResolver(["93.184.216.34", "127.0.0.1"])
        let call = await delivery(resolver, allowPrivate: false).call(request("http://rebind.test:\(server.port)/ok/rebind"), attemptAt: Date())
        #expect(server.received.filter { $0.path != "/healthz" }.isEmpty, "the private server was never called")
        #expect(resolver.asked.withLock { $0 } == 1, "resolved once")
        // Whatever the checked (public) address did, it was not the loopback server.
        if case .refused = call.result { Issue.record("the checked address was public: \(call.result)") }
        // Private at once: refused, permanently, without a call.
        let refused = await delivery(RebindingResolver(["127.0.0.1"]), allowPrivate: false)
            .call(request("http://rebind.test:\(server.port)/ok/rebind"), attemptAt: Date())
        if case .refused(let reason) = refused.result {
            #expect(reason.contains("private"))
        } else {
            Issue.record("expected a refusal, got \(refused.result)")
        }
        let system = await delivery(SystemHostResolver(), allowPrivate: false).call(request("http://localhost:\(server.port)/ok/x"), attemptAt: Date())
        if case .refused = system.result {} else { Issue.record("localhost must be refused, got \(system.result)") }
        #expect(server.calls(under: "/ok/").isEmpty)
        await clients.shutdown()
        await server.stop()
    }

    @Test func theCheckedAddressIsCalledWithTheNameAsHost() async throws {
        let server = try await WebhookTestServer.start()
        let call = await delivery(RebindingResolver(["127.0.0.1"]), allowPrivate: true)
            .call(request("http://partner.test:\(server.port)/ok/host"), attemptAt: Date())
        if case .answered(let status, _, _) = call.result { #expect(status == 200) } else { Issue.record("no answer: \(call.result)") }
        #expect(server.calls(to: "/ok/host").first?.headers["host"] == "partner.test:\(server.port)")
        await clients.shutdown()
        await server.stop()
    }
}
