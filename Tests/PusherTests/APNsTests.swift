import AsyncHTTPClient
import BeaconCore
import BeaconTestSupport
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import PusherService
import Synchronization
import Testing

// Every test here runs the real client against the APNs test server over
// TLS and HTTP/2 on 127.0.0.1.

private let teamId = "TEAMID1234"
private let keyId = "KEYID56789"
private let topic = "com.example.beacon"

private func randomDeviceToken() -> String {
    (0..<32).map { _ in
        let byte = UInt8.random(in: 0...255)
        return (byte < 16 ? "0" : "") + String(byte, radix: 16)
    }.joined()
}

private func alert(_ token: String, _ text: String = "hello") throws -> APNsNotification {
    try APNsNotification(deviceToken: token, payload: ["aps": ["alert": .string(text)]])
}

/// Waits that are recorded, not taken.
private final class RecordedSleeps: Sendable {
    private let delays = Mutex<[Duration]>([])
    var all: [Duration] { delays.withLock { $0 } }
    func sleep(_ duration: Duration) async throws {
        delays.withLock { $0.append(duration) }
    }
}

/// A clock the test moves by hand.
private final class ManualClock: Sendable {
    private let current = Mutex<Date>(Date())
    func now() -> Date { current.withLock { $0 } }
    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// One server and one client for a test, torn down afterwards.
struct APNsFixture {
    let key: P256.Signing.PrivateKey
    let server: APNsTestServer
    let client: APNsClient

    /// Sends an alert with retries and returns the final outcome.
    func sendAlert(to token: String = randomDeviceToken()) async throws -> APNsOutcome {
        await client.send(try alert(token)).outcome
    }

    static func run(
        signingKey: P256.Signing.PrivateKey? = nil,
        serverKey: P256.Signing.PrivateKey? = nil,
        clientTeamId: String = teamId,
        configuration: (inout APNsClientConfiguration) -> Void = { _ in },
        tokenProvider: ((APNsCredentials) -> APNsTokenProvider)? = nil,
        maxConcurrentStreams: Int = 100,
        responseDelay: Duration = .zero,
        serverNow: @escaping @Sendable () -> Date = { Date() },
        _ body: (APNsFixture) async throws -> Void
    ) async throws {
        let key = serverKey ?? P256.Signing.PrivateKey()
        let server = try await APNsTestServer.start(
            teamId: teamId, keyId: keyId, publicKey: key.publicKey, topic: topic,
            maxConcurrentStreams: maxConcurrentStreams, responseDelay: responseDelay, now: serverNow
        )
        let credentials = try APNsCredentials(
            teamId: clientTeamId, keyId: keyId, signingKey: signingKey ?? key, topic: topic,
            environment: .sandbox, endpointOverride: server.endpoint
        )
        var config = APNsClientConfiguration(tlsConfiguration: try server.clientTLSConfiguration())
        configuration(&config)
        let client = APNsClient(credentials: credentials, configuration: config, tokenProvider: tokenProvider?(credentials))
        do {
            try await body(APNsFixture(key: key, server: server, client: client))
        } catch {
            try? await client.shutdown()
            try? await server.shutdown()
            throw error
        }
        try await client.shutdown()
        try await server.shutdown()
    }
}

@Suite("APNs sender and test server")
struct APNsTests {

    // MARK: Provider token

    @Test func providerTokenIsES256WithKidIssIat() throws {
        let key = P256.Signing.PrivateKey()
        let clock = ManualClock()
        let provider = APNsTokenProvider(teamId: teamId, keyId: keyId, signingKey: key, now: { clock.now() })
        let token = try provider.currentToken()
        let parts = token.jwt.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        #expect(parts.count == 3)
        #expect(!token.jwt.contains("="))

        func decode(_ part: String) throws -> [UInt8] {
            var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while text.count % 4 != 0 { text += "=" }
            return Array(try #require(Data(base64Encoded: text)))
        }
        let header = try JSONParser.parse(try decode(parts[0]))
        let claims = try JSONParser.parse(try decode(parts[1]))
        #expect(header["alg"] == "ES256")
        #expect(header["kid"] == .string(keyId))
        #expect(claims["iss"] == .string(teamId))
        #expect(claims["iat"] == .integer(Int64(clock.now().timeIntervalSince1970)))
        let signature = try P256.Signing.ECDSASignature(rawRepresentation: try decode(parts[2]))
        #expect(key.publicKey.isValidSignature(signature, for: Array((parts[0] + "." + parts[1]).utf8)))
    }

    @Test func providerTokenIsReusedThenRefreshedAfterFortyMinutes() throws {
        let clock = ManualClock()
        let provider = APNsTokenProvider(
            teamId: teamId, keyId: keyId, signingKey: P256.Signing.PrivateKey(), now: { clock.now() }
        )
        let first = try provider.currentToken()
        clock.advance(by: 39 * 60)
        #expect(try provider.currentToken() == first)
        clock.advance(by: 2 * 60)
        let second = try provider.currentToken()
        #expect(second != first)
        #expect(provider.generatedCount == 2)

        // A forced refresh replaces a stale token once, however many callers saw it fail.
        let third = try provider.refresh(replacing: second)
        let again = try provider.refresh(replacing: second)
        #expect(third != second)
        #expect(again == third)
        #expect(provider.generatedCount == 3)
    }

    // MARK: Credentials, notification checks, retry policy

    @Test func credentialsFromP8TextAndFileAndHosts() throws {
        let key = P256.Signing.PrivateKey()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("AuthKey_\(UUID().uuidString).p8").path
        try key.pemRepresentation.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }

        let fromFile = try APNsCredentials(
            teamId: teamId, keyId: keyId, privateKeyPath: path, topic: topic, environment: .production
        )
        #expect(fromFile.signingKey.publicKey.rawRepresentation == key.publicKey.rawRepresentation)
        #expect(fromFile.endpoint == "https://api.push.apple.com")

        let fromText = try APNsCredentials(
            teamId: teamId, keyId: keyId, privateKeyPEM: key.pemRepresentation, topic: topic, environment: .sandbox
        )
        #expect(fromText.endpoint == "https://api.sandbox.push.apple.com")

        let overridden = try APNsCredentials(
            teamId: teamId, keyId: keyId, signingKey: key, topic: topic, environment: .production,
            endpointOverride: "https://127.0.0.1:9999/"
        )
        #expect(overridden.endpoint == "https://127.0.0.1:9999")

        #expect(throws: APNsCredentialsError.self) {
            try APNsCredentials(teamId: teamId, keyId: keyId, privateKeyPEM: "not a key", topic: topic, environment: .sandbox)
        }
        #expect(throws: APNsCredentialsError.self) {
            try APNsCredentials(
                teamId: teamId, keyId: keyId, privateKeyPath: path + ".missing", topic: topic, environment: .sandbox
            )
        }
    }

    @Test func notificationIsCheckedBeforeSending() throws {
        let token = randomDeviceToken()
        // 4096 bytes exactly is allowed; 4097 is not.
        let prefix = Array(#"{"aps":{"alert":""#.utf8)
        let suffix = Array(#""}}"#.utf8)
        let fits = prefix + [UInt8](repeating: UInt8(ascii: "a"), count: 4096 - prefix.count - suffix.count) + suffix
        #expect(fits.count == 4096)
        _ = try APNsNotification(deviceToken: token, payloadBytes: fits)
        let tooBig = prefix + [UInt8](repeating: UInt8(ascii: "a"), count: 4097 - prefix.count - suffix.count) + suffix
        #expect(throws: APNsNotificationError.payloadTooLarge(size: 4097, limit: 4096)) {
            try APNsNotification(deviceToken: token, payloadBytes: tooBig)
        }
        #expect(throws: APNsNotificationError.payloadEmpty) { try APNsNotification(deviceToken: token, payloadBytes: []) }
        #expect(throws: APNsNotificationError.self) { try APNsNotification(deviceToken: token, payloadBytes: Array("[1]".utf8)) }
        #expect(throws: APNsNotificationError.self) { try APNsNotification(deviceToken: "not-hex!", payload: ["aps": [:]]) }
        #expect(throws: APNsNotificationError.self) {
            try APNsNotification(deviceToken: token, payload: ["aps": [:]], collapseId: String(repeating: "c", count: 65))
        }
        #expect(throws: APNsNotificationError.self) {
            try APNsNotification(deviceToken: token, payload: ["aps": [:]], apnsId: "not-a-uuid")
        }
        let upper = try APNsNotification(deviceToken: token.uppercased(), payload: ["aps": [:]])
        #expect(upper.deviceToken == token)
    }

    @Test func retryPolicyBacksOffWithFullJitterAndHonoursRetryAfter() {
        let policy = PushRetryPolicy(
            maxAttempts: 4, baseDelay: .milliseconds(100), maxDelay: .milliseconds(300), maxRetryAfter: .seconds(10)
        )
        #expect(policy.backoffCap(afterAttempt: 1) == .milliseconds(100))
        #expect(policy.backoffCap(afterAttempt: 2) == .milliseconds(200))
        #expect(policy.backoffCap(afterAttempt: 3) == .milliseconds(300))
        for attempt in 1...3 {
            for _ in 0..<200 {
                let delay = policy.delay(afterAttempt: attempt)
                #expect(delay != nil && delay! >= .zero && delay! <= policy.backoffCap(afterAttempt: attempt))
            }
        }
        #expect(policy.delay(afterAttempt: 4) == nil)  // attempts used up
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(2)) == .seconds(2))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(11)) == nil)  // longer than we hold work
        #expect(PushRetryPolicy.parseRetryAfter("120") == .seconds(120))
        #expect(PushRetryPolicy.parseRetryAfter("soon") == nil)
        let now = Date(timeIntervalSince1970: 1_445_412_450)  // 2015-10-21 07:27:30 GMT
        #expect(PushRetryPolicy.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now: now) == .seconds(30))
    }

    // MARK: Over the wire

    @Test func deliversWithHeadersPayloadAndSignedToken() async throws {
        try await APNsFixture.run { fixture in
            let token = randomDeviceToken()
            let apnsId = UUID().uuidString.lowercased()
            let expiration = Int64(Date().timeIntervalSince1970) + 3600
            let notification = try APNsNotification(
                deviceToken: token,
                payload: ["aps": ["alert": ["title": "Hi", "body": "There"], "badge": 3], "eventId": "e-1"],
                pushType: .alert, priority: .immediate, expiration: expiration,
                collapseId: "news", apnsId: apnsId
            )
            let delivery = await fixture.client.send(notification)
            #expect(delivery.outcome == .delivered)
            #expect(delivery.response.status == 200)
            #expect(delivery.response.apnsId == apnsId)
            #expect(delivery.attempts.count == 1)

            let request = try #require(fixture.server.received(token: token).first)
            #expect(request.status == 200)
            #expect(request.method == "POST")
            #expect(request.path == "/3/device/\(token)")
            #expect(request.header("apns-topic") == topic)
            #expect(request.header("apns-push-type") == "alert")
            #expect(request.header("apns-priority") == "10")
            #expect(request.header("apns-expiration") == String(expiration))
            #expect(request.header("apns-collapse-id") == "news")
            #expect(request.header("apns-id") == apnsId)
            #expect(request.json == (try JSONParser.parse(notification.payload)))
            #expect(request.json?["aps"]?["badge"] == 3)
            #expect(request.jwtHeader?["alg"] == "ES256")
            #expect(request.jwtHeader?["kid"] == .string(keyId))
            #expect(request.jwtClaims?["iss"] == .string(teamId))

            // Without an apns-id, APNs makes one and returns it.
            let other = await fixture.client.send(try alert(randomDeviceToken()))
            #expect(other.outcome == .delivered)
            #expect(other.response.apnsId.flatMap(UUID.init(uuidString:)) != nil)
        }
    }

    @Test func tokenSignedWithAnotherKeyIsRejected() async throws {
        try await APNsFixture.run(signingKey: P256.Signing.PrivateKey()) { fixture in
            let delivery = await fixture.client.send(try alert(randomDeviceToken()))
            #expect(delivery.outcome == .permanent(reason: "InvalidProviderToken"))
            #expect(delivery.response.status == 403)
            #expect(delivery.attempts.count == 1)  // not retried
            #expect(fixture.server.counters.delivered == 0)
        }
        try await APNsFixture.run(clientTeamId: "OTHERTEAM1") { fixture in
            let delivery = await fixture.client.send(try alert(randomDeviceToken()))
            #expect(delivery.outcome == .permanent(reason: "InvalidProviderToken"))
        }
    }

    @Test(arguments: [
        (APNsTestServer.Response.ok, APNsOutcome.delivered),
        (.badDeviceToken, .invalidToken(reason: "BadDeviceToken")),
        (.deviceTokenNotForTopic, .invalidToken(reason: "DeviceTokenNotForTopic")),
        (.unregistered, .invalidToken(reason: "Unregistered")),
        (.tooManyRequests(retryAfter: 7), .retryable(reason: "TooManyRequests", retryAfter: .seconds(7))),
        (.tooManyRequests(), .retryable(reason: "TooManyRequests", retryAfter: nil)),
        (.internalServerError, .retryable(reason: "InternalServerError", retryAfter: nil)),
        (.serviceUnavailable, .retryable(reason: "ServiceUnavailable", retryAfter: nil)),
        (.expiredProviderToken, .expiredProviderToken),
        (.status(400, reason: "TopicDisallowed"), .permanent(reason: "TopicDisallowed")),
        (.status(403, reason: "Forbidden"), .permanent(reason: "Forbidden")),
    ])
    func scriptedAnswerMapsToOutcome(answer: APNsTestServer.Response, expected: APNsOutcome) async throws {
        try await APNsFixture.run { fixture in
            let token = randomDeviceToken()
            fixture.server.script(token: token, responses: [answer])
            let response = await fixture.client.sendOnce(try alert(token))
            #expect(response.outcome == expected)
            if case .status(let status, _, _) = answer { #expect(response.status == status) }
            #expect(response.apnsId != nil)
            #expect(response.outcome.removesDevice == (expected.reason.map(APNsReason.invalidTokenReasons.contains) ?? false))
            if answer == .unregistered { #expect(response.unregisteredAt != nil) }
            // The script is used up: the next answer is 200.
            let next = try await fixture.sendAlert(to: token)
            #expect(next == .delivered)
        }
    }

    @Test func retryAfterIsHonouredAndRetriesAreBounded() async throws {
        let sleeps = RecordedSleeps()
        try await APNsFixture.run(configuration: { $0.sleep = { try await sleeps.sleep($0) } }) { fixture in
            let token = randomDeviceToken()
            fixture.server.script(token: token, responses: [.tooManyRequests(retryAfter: 3), .ok])
            let delivery = await fixture.client.send(try alert(token))
            #expect(delivery.outcome == .delivered)
            #expect(delivery.attempts.map(\.status) == [429, 200])
            #expect(delivery.delays == [.seconds(3)])  // the backoff (<= 0.5 s) is below Retry-After

            // 500s: retried with backoff up to the policy's attempts, then given up.
            let failing = randomDeviceToken()
            fixture.server.script(token: failing, responses: Array(repeating: .internalServerError, count: 5))
            let policy = PushRetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(100), maxDelay: .seconds(1))
            let given = await fixture.client.send(try alert(failing), retry: policy)
            #expect(given.outcome == .retryable(reason: "InternalServerError", retryAfter: nil))
            #expect(given.attempts.count == 3)
            #expect(given.delays.count == 2)
            #expect(given.delays[0] <= .milliseconds(100) && given.delays[1] <= .milliseconds(200))
            #expect(fixture.server.received(token: failing).count == 3)

            // Permanent and invalid-token answers are not retried.
            let gone = randomDeviceToken()
            fixture.server.script(token: gone, responses: [.unregistered])
            let removed = await fixture.client.send(try alert(gone))
            #expect(removed.outcome == .invalidToken(reason: "Unregistered"))
            #expect(removed.attempts.count == 1)
            #expect(sleeps.all.count == 3)
        }
    }

    @Test func retryAfterIsWaitedForReal() async throws {
        try await APNsFixture.run { fixture in
            let token = randomDeviceToken()
            fixture.server.script(token: token, responses: [.tooManyRequests(retryAfter: 1), .ok])
            let delivery = await fixture.client.send(try alert(token))
            #expect(delivery.outcome == .delivered)
            let seen = fixture.server.received(token: token)
            #expect(seen.count == 2)
            #expect(seen[1].receivedAt - seen[0].receivedAt >= .seconds(1))
        }
    }

    @Test func expiredProviderTokenIsRefreshedAndRetriedOnce() async throws {
        try await APNsFixture.run { fixture in
            let token = randomDeviceToken()
            fixture.server.script(token: token, responses: [.expiredProviderToken])
            let delivery = await fixture.client.send(try alert(token))
            #expect(delivery.outcome == .delivered)
            #expect(delivery.refreshedProviderToken)
            #expect(delivery.attempts.map(\.status) == [403, 200])
            let seen = fixture.server.received(token: token)
            #expect(seen.count == 2)
            #expect(seen[0].jwt != seen[1].jwt)
            #expect(fixture.client.tokenProvider.generatedCount == 2)

            // Expired twice in a row: one refresh, one retry, then the outcome stands.
            let stubborn = randomDeviceToken()
            fixture.server.script(token: stubborn, responses: [.expiredProviderToken, .expiredProviderToken])
            let given = await fixture.client.send(try alert(stubborn))
            #expect(given.outcome == .expiredProviderToken)
            #expect(given.attempts.count == 2)
        }
    }

    @Test func tokenOlderThanAnHourIsExpiredByTheServerAndReplaced() async throws {
        let clock = ManualClock()
        try await APNsFixture.run(
            // A provider that would keep its token for too long, to see the server's iat check.
            tokenProvider: { APNsTokenProvider(credentials: $0, refreshInterval: .seconds(7200), now: { clock.now() }) },
            serverNow: { clock.now() }
        ) { fixture in
            let first = await fixture.client.send(try alert(randomDeviceToken()))
            #expect(first.outcome == .delivered)
            clock.advance(by: 61 * 60)
            let later = await fixture.client.send(try alert(randomDeviceToken()))
            #expect(later.outcome == .delivered)
            #expect(later.attempts.map(\.outcome) == [.expiredProviderToken, .delivered])
            #expect(fixture.client.tokenProvider.generatedCount == 2)
        }
    }

    @Test func providerTokenIsReusedAcrossRequestsAndRefreshedOnSchedule() async throws {
        let clock = ManualClock()
        try await APNsFixture.run(
            tokenProvider: { APNsTokenProvider(credentials: $0, now: { clock.now() }) },
            serverNow: { clock.now() }
        ) { fixture in
            var outcomes: [APNsOutcome] = []
            for _ in 0..<3 { outcomes.append(try await fixture.sendAlert()) }
            clock.advance(by: 39 * 60)
            outcomes.append(try await fixture.sendAlert())
            clock.advance(by: 2 * 60)
            outcomes.append(try await fixture.sendAlert())
            #expect(outcomes == Array(repeating: .delivered, count: 5))
            let jwts = fixture.server.received.map { $0.jwt ?? "" }
            #expect(Set(jwts[0..<4]).count == 1)
            #expect(jwts[4] != jwts[0])
        }
    }

    @Test func manyConcurrentSendsShareFewConnections() async throws {
        try await APNsFixture.run(
            // Timeouts well past the stalls of a loaded CI machine (20 s were
            // seen): this test is about sharing connections, not deadlines.
            configuration: { $0.connections = 2; $0.connectTimeout = .seconds(60); $0.requestTimeout = .seconds(90) },
            maxConcurrentStreams: 100,
            responseDelay: .milliseconds(5)
        ) { fixture in
            let tokens = (0..<500).map { _ in randomDeviceToken() }
            let outcomes = try await withThrowingTaskGroup(of: APNsOutcome.self) { group in
                for token in tokens {
                    let notification = try alert(token)
                    group.addTask { await fixture.client.send(notification, retry: .never).outcome }
                }
                return try await group.reduce(into: [APNsOutcome]()) { $0.append($1) }
            }
            #expect(outcomes.count == 500)
            #expect(outcomes.allSatisfy { $0 == .delivered }, "\(outcomes.filter { $0 != .delivered }.prefix(5))")
            let counters = fixture.server.counters
            #expect(counters.requests == 500)
            #expect(Set(fixture.server.received.map(\.deviceToken)) == Set(tokens))
            #expect(counters.connectionsAccepted <= 2)
            #expect(counters.peakStreamsOnOneConnection > 1)  // multiplexed, not one request per connection
            #expect(counters.peakStreamsOnOneConnection <= 100)  // the server's stream limit was respected
            #expect(fixture.client.tokenProvider.generatedCount == 1)
        }
    }

    @Test func connectionFailuresAreRetryable() async throws {
        // A client that does not trust the test CA fails the TLS handshake.
        try await APNsFixture.run(configuration: { $0.tlsConfiguration = nil }) { fixture in
            let response = await fixture.client.send(try alert(randomDeviceToken()), retry: .never).response
            guard case .retryable(let reason, nil) = response.outcome else {
                Issue.record("expected a retryable connection error, got \(response.outcome)")
                return
            }
            #expect(reason.hasPrefix("ConnectionError"))
            #expect(response.status == nil)
            #expect(fixture.server.counters.requests == 0)
        }
        // Nothing listening.
        let key = P256.Signing.PrivateKey()
        let server = try await APNsTestServer.start(teamId: teamId, keyId: keyId, publicKey: key.publicKey, topic: topic)
        let endpoint = server.endpoint
        try await server.shutdown()
        let client = APNsClient(
            credentials: try APNsCredentials(
                teamId: teamId, keyId: keyId, signingKey: key, topic: topic, environment: .sandbox,
                endpointOverride: endpoint
            ),
            configuration: APNsClientConfiguration(tlsConfiguration: try server.clientTLSConfiguration())
        )
        let response = await client.sendOnce(try alert(randomDeviceToken()))
        try await client.shutdown()
        #expect(response.status == nil)
        #expect(response.outcome.reason?.hasPrefix("ConnectionError") == true)
    }

    // MARK: The test server's own checks

    @Test func serverChecksRequestsAsAPNsDoes() async throws {
        let key = P256.Signing.PrivateKey()
        let server = try await APNsTestServer.start(teamId: teamId, keyId: keyId, publicKey: key.publicKey, topic: topic)
        var configuration = HTTPClient.Configuration(tlsConfiguration: try server.clientTLSConfiguration())
        configuration.httpVersion = .automatic
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let provider = APNsTokenProvider(teamId: teamId, keyId: keyId, signingKey: key)
        let jwt = try provider.currentToken().jwt
        let token = randomDeviceToken()

        func call(
            method: HTTPMethod = .POST, path: String? = nil, headers: [(String, String)]? = nil,
            body: [UInt8] = Array(#"{"aps":{}}"#.utf8), auth: Bool = true
        ) async throws -> String {
            var request = HTTPClientRequest(url: server.endpoint + (path ?? "/3/device/\(token)"))
            request.method = method
            if auth { request.headers.add(name: "authorization", value: "bearer \(jwt)") }
            for (name, value) in headers ?? [("apns-topic", topic), ("apns-push-type", "alert")] {
                request.headers.add(name: name, value: value)
            }
            if method == .POST { request.body = .bytes(ByteBuffer(bytes: body)) }
            let response = try await http.execute(request, timeout: .seconds(10))
            let bytes = try await response.body.collect(upTo: 1 << 16)
            let reason = bytes.readableBytes == 0 ? nil : (try JSONParser.parse(bytes.readableBytesView))["reason"]?.stringValue
            return reason.map { "\(response.status.code) \($0)" } ?? "\(response.status.code)"
        }

        do {
            #expect(try await call() == "200")
            #expect(try await call(auth: false) == "403 MissingProviderToken")
            #expect(try await call(method: .GET) == "405 MethodNotAllowed")
            #expect(try await call(path: "/3/other/\(token)") == "404 BadPath")
            #expect(try await call(path: "/3/device/") == "400 MissingDeviceToken")
            #expect(try await call(path: "/3/device/zz\(token)") == "400 BadDeviceToken")
            #expect(try await call(headers: [("apns-push-type", "alert")]) == "400 MissingTopic")
            #expect(try await call(headers: [("apns-topic", "com.other.app"), ("apns-push-type", "alert")]) == "400 TopicDisallowed")
            #expect(try await call(headers: [("apns-topic", topic + ".voip"), ("apns-push-type", "voip")]) == "200")
            #expect(try await call(headers: [("apns-topic", topic), ("apns-push-type", "shout")]) == "400 InvalidPushType")
            #expect(try await call(headers: [("apns-topic", topic), ("apns-push-type", "alert"), ("apns-priority", "7")]) == "400 BadPriority")
            #expect(try await call(headers: [("apns-topic", topic), ("apns-push-type", "background"), ("apns-priority", "10")]) == "400 BadPriority")
            #expect(try await call(headers: [("apns-topic", topic), ("apns-push-type", "alert"), ("apns-expiration", "later")]) == "400 BadExpirationDate")
            #expect(try await call(headers: [("apns-topic", topic), ("apns-push-type", "alert"), ("apns-id", "nope")]) == "400 BadMessageId")
            #expect(try await call(headers: [("apns-topic", topic), ("apns-push-type", "alert"), ("apns-collapse-id", String(repeating: "x", count: 65))]) == "400 BadCollapseId")
            #expect(try await call(headers: [("apns-topic", topic), ("apns-topic", topic), ("apns-push-type", "alert")]) == "400 DuplicateHeaders")
            #expect(try await call(body: []) == "400 PayloadEmpty")
            let big = Array(#"{"aps":{"alert":""#.utf8) + [UInt8](repeating: 0x61, count: 5000) + Array(#""}}"#.utf8)
            #expect(try await call(body: big) == "413 PayloadTooLarge")
        } catch {
            try? await http.shutdown()
            try? await server.shutdown()
            throw error
        }
        try await http.shutdown()
        try await server.shutdown()
    }
}
