import AsyncHTTPClient
import BeaconCore
import BeaconTestSupport
import Foundation
import PusherService
import Synchronization
import Testing
import _CryptoExtras

/// FCM HTTP v1 sender against FCMTestServer over real sockets on 127.0.0.1.
@Suite("FCM")
struct FCMTests {
    /// One RSA key for the whole suite: generating 2048-bit keys is slow in debug builds.
    static let credentials = try! FCMTestCredentials(projectId: "beacon-test")

    /// A server plus a client for `credentials`, torn down by `close()`.
    struct Fixture {
        let server: FCMTestServer
        let client: FCMClient

        static func start(
            expiresIn: Int = 3600, credentials: FCMTestCredentials = FCMTests.credentials,
            serverKey: _RSA.Signing.PublicKey? = nil, requestTimeout: Duration = .seconds(10), now: (@Sendable () -> Date)? = nil
        ) async throws -> Fixture {
            let server = try await FCMTestServer.start(
                projectId: credentials.projectId, publicKey: serverKey ?? credentials.publicKey,
                clientEmail: credentials.clientEmail, expiresIn: expiresIn)
            let account = try FCMServiceAccount(json: credentials.serviceAccountJSON(tokenURI: server.tokenURL))
            let client = try FCMClient(
                account: account, httpClient: .shared, configuration: FCMConfiguration(endpoint: server.baseURL, requestTimeout: requestTimeout),
                now: now ?? { Date() })
            return Fixture(server: server, client: client)
        }

        func close() async { await server.stop() }
    }

    static func httpDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }

    static func message(_ token: String) -> FCMMessage {
        FCMMessage(token: token, notification: .init(title: "Hello", body: "World"), data: ["event": "signup"])
    }

    // MARK: - Service account

    @Test func parsesServiceAccountFile() throws {
        let json = Self.credentials.serviceAccountJSON(tokenURI: "https://oauth2.example.test/token")
        let account = try FCMServiceAccount(json: json)
        #expect(account.projectId == "beacon-test")
        #expect(account.clientEmail == Self.credentials.clientEmail)
        #expect(account.privateKeyId == Self.credentials.privateKeyId)
        #expect(account.tokenURI == "https://oauth2.example.test/token")

        var withoutTokenURI = try #require(try JSONParser.parse(json).objectValue)
        withoutTokenURI["token_uri"] = nil
        #expect(try FCMServiceAccount(json: JSONWriter.string(.object(withoutTokenURI))).tokenURI == FCMServiceAccount.defaultTokenURI)

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fcm-sa-\(UUID().uuidString).json").path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try FCMServiceAccount(contentsOfFile: path).projectId == "beacon-test")
    }

    @Test func rejectsBadServiceAccounts() throws {
        let good = try #require(try JSONParser.parse(Self.credentials.serviceAccountJSON(tokenURI: "https://o.test/token")).objectValue)
        func parse(_ edit: (inout JSONObject) -> Void) -> FCMServiceAccountError? {
            var object = good
            edit(&object)
            do {
                _ = try FCMServiceAccount(json: JSONWriter.string(.object(object)))
                return nil
            } catch {
                return error
            }
        }
        #expect(parse { $0["project_id"] = nil } == .missingField("project_id"))
        #expect(parse { $0["client_email"] = "" } == .missingField("client_email"))
        #expect(parse { $0["private_key"] = nil } == .missingField("private_key"))
        #expect(parse { $0["project_id"] = 42 } == .wrongType(field: "project_id", expected: "string", found: "number"))
        #expect(parse { $0["type"] = "authorized_user" } == .wrongAccountType("authorized_user"))
        #expect(parse { $0["token_uri"] = "not a url" } == .invalidTokenURI("not a url"))
        if case .invalidPrivateKey? = parse({ $0["private_key"] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" }) {
        } else {
            Issue.record("a broken PEM must be reported as invalidPrivateKey")
        }

        #expect(throws: FCMServiceAccountError.notAnObject("array")) { try FCMServiceAccount(json: "[]") }
        do {
            _ = try FCMServiceAccount(json: "{\"project_id\": ")
            Issue.record("truncated JSON must not parse")
        } catch {
            guard case .invalidJSON = error else { Issue.record("expected invalidJSON, got \(error)"); return }
        }
        do {
            _ = try FCMServiceAccount(contentsOfFile: "/nonexistent/fcm.json")
            Issue.record("a missing file must not parse")
        } catch {
            guard case .unreadable(let path, _) = error else { Issue.record("expected unreadable, got \(error)"); return }
            #expect(path == "/nonexistent/fcm.json")
            #expect(error.description.contains("/nonexistent/fcm.json"))
        }
        #expect(FCMServiceAccountError.missingField("private_key").description.contains("private_key"))
    }

    // MARK: - Access tokens

    @Test func tokenIsFetchedOnceAndReused() async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.close() } }
        for index in 0..<20 {
            let result = await fixture.client.send(Self.message("device-\(index)"))
            guard case .delivered(let name) = result.outcome else {
                Issue.record("send \(index): \(result.outcome)")
                continue
            }
            #expect(name.hasPrefix("projects/beacon-test/messages/"))
            #expect(result.status == 200)
            #expect(result.attempts == 1)
        }
        #expect(fixture.server.tokenRequests.count == 1)
        #expect(fixture.server.deliveredMessages.count == 20)
        #expect(Set(fixture.server.receivedMessages.compactMap(\.accessToken)).count == 1)
        #expect(await fixture.client.tokenProvider.exchangeCount == 1)

        // The assertion as Google documents it.
        let request = try #require(fixture.server.tokenRequests.first)
        #expect(request.grantType == "urn:ietf:params:oauth:grant-type:jwt-bearer")
        #expect(request.header?["alg"] == "RS256")
        #expect(request.header?["kid"]?.stringValue == Self.credentials.privateKeyId)
        let claims = try #require(request.claims)
        #expect(claims["iss"]?.stringValue == Self.credentials.clientEmail)
        #expect(claims["scope"]?.stringValue == "https://www.googleapis.com/auth/firebase.messaging")
        #expect(claims["aud"]?.stringValue == fixture.server.tokenURL)
        let iat = try #require(claims["iat"]?.doubleValue)
        let exp = try #require(claims["exp"]?.doubleValue)
        #expect(exp - iat == 3600)
        #expect(abs(iat - Date().timeIntervalSince1970) < 120)
        await fixture.close()
    }

    @Test func tokenIsRefreshedWhenNearExpiry() async throws {
        // The provider's clock starts 3500 s in the past, so the assertions it signs are
        // still acceptable to the server when the clock is moved forward past the token's life.
        let clock = FCMTestClock(Date().addingTimeInterval(-3500))
        let fixture = try await Fixture.start(now: { clock.now })
        defer { Task { await fixture.close() } }

        #expect(await fixture.client.send(Self.message("a")).outcome.isDelivered)
        clock.advance(by: 3000)  // 600 s left: still fresh
        #expect(await fixture.client.send(Self.message("b")).outcome.isDelivered)
        #expect(fixture.server.tokenRequests.count == 1)

        clock.advance(by: 541)  // 59 s left, under the 60 s margin
        #expect(await fixture.client.send(Self.message("c")).outcome.isDelivered)
        #expect(fixture.server.tokenRequests.count == 2)
        let tokens = fixture.server.receivedMessages.compactMap(\.accessToken)
        #expect(tokens.count == 3 && tokens[0] == tokens[1] && tokens[1] != tokens[2])
        await fixture.close()
    }

    @Test func shortLivedTokensAreNotCached() async throws {
        // expires_in under the refresh margin: every send needs a new token.
        let fixture = try await Fixture.start(expiresIn: 30)
        defer { Task { await fixture.close() } }
        for index in 0..<3 {
            #expect(await fixture.client.send(Self.message("t\(index)")).outcome.isDelivered)
        }
        #expect(fixture.server.tokenRequests.count == 3)
        await fixture.close()
    }

    @Test func expiredAccessTokenIsRefreshedAndRetriedOnce() async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.close() } }
        #expect(await fixture.client.send(Self.message("first")).outcome.isDelivered)

        fixture.server.expireAllTokens()
        let result = await fixture.client.send(Self.message("second"))
        #expect(result.outcome.isDelivered)
        #expect(result.attempts == 2)
        #expect(result.status == 200)
        #expect(fixture.server.tokenRequests.count == 2)
        #expect(fixture.server.receivedMessages.map(\.status) == [200, 401, 200])

        // A 401 that persists after the refresh is reported, not retried again.
        fixture.server.script(token: "revoked", responses: [.unauthenticated, .unauthenticated])
        let refused = await fixture.client.send(Self.message("revoked"))
        #expect(refused.outcome == .unauthenticated)
        #expect(refused.attempts == 2)
        #expect(refused.status == 401)
        #expect(fixture.server.tokenRequests.count == 3)
        await fixture.close()
    }

    @Test func tokenEndpointFailures() async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.close() } }
        fixture.server.scriptTokenEndpoint(responses: [
            .oauthError(status: 503, error: "temporarily_unavailable", description: "try later"),
            .oauthError(status: 400, error: "invalid_grant", description: "Invalid JWT Signature."),
        ])
        let unavailable = await fixture.client.send(Self.message("x"))
        guard case .retryable = unavailable.outcome else { Issue.record("503 at the token endpoint: \(unavailable.outcome)"); return }
        #expect(unavailable.status == nil && unavailable.attempts == 0)

        let rejected = await fixture.client.send(Self.message("x"))
        guard case .permanent(let reason) = rejected.outcome else { Issue.record("invalid_grant: \(rejected.outcome)"); return }
        #expect(reason.contains("invalid_grant"))

        // Normal service again.
        #expect(await fixture.client.send(Self.message("x")).outcome.isDelivered)
        #expect(fixture.server.receivedMessages.count == 1)
        await fixture.close()
    }

    @Test func wrongKeyIsRefusedByTheTokenEndpoint() async throws {
        let other = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let fixture = try await Fixture.start(serverKey: other.publicKey)
        defer { Task { await fixture.close() } }
        let result = await fixture.client.send(Self.message("x"))
        guard case .permanent(let reason) = result.outcome else { Issue.record("\(result.outcome)"); return }
        #expect(reason.contains("Invalid JWT Signature"))
        #expect(fixture.server.tokenRequests.first?.issuedToken == nil)
        #expect(fixture.server.receivedMessages.isEmpty)
        await fixture.close()
    }

    // MARK: - Outcomes

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        let name: String
        let response: FCMTestServer.ScriptedResponse
        let status: Int
        let errorCode: String
        let expected: Expected

        enum Expected: Sendable {
            case invalidToken, permanent
            case retryable(Duration?)
            /// Within a few seconds of this (an HTTP-date is measured against the clock).
            case retryableAbout(Duration)
        }

        var testDescription: String { name }
    }

    static let errorCases: [ErrorCase] = [
        ErrorCase(name: "404 UNREGISTERED", response: .unregistered, status: 404, errorCode: "UNREGISTERED", expected: .invalidToken),
        ErrorCase(
            name: "403 SENDER_ID_MISMATCH", response: .senderIdMismatch, status: 403, errorCode: "SENDER_ID_MISMATCH",
            expected: .invalidToken),
        ErrorCase(
            name: "400 INVALID_ARGUMENT token", response: .invalidRegistrationToken, status: 400, errorCode: "INVALID_ARGUMENT",
            expected: .invalidToken),
        ErrorCase(
            name: "400 INVALID_ARGUMENT message.token field",
            response: .googleError(status: 400, canonical: "INVALID_ARGUMENT", message: "Invalid value", field: "message.token"),
            status: 400, errorCode: "INVALID_ARGUMENT", expected: .invalidToken),
        ErrorCase(
            name: "400 INVALID_ARGUMENT payload", response: .invalidArgument(field: "message.data", message: "Message is too big"),
            status: 400, errorCode: "INVALID_ARGUMENT", expected: .permanent),
        ErrorCase(
            name: "429 QUOTA_EXCEEDED Retry-After", response: .quotaExceeded(retryAfter: "7"), status: 429, errorCode: "QUOTA_EXCEEDED",
            expected: .retryable(.seconds(7))),
        ErrorCase(name: "429 without Retry-After", response: .quotaExceeded(), status: 429, errorCode: "QUOTA_EXCEEDED", expected: .retryable(nil)),
        ErrorCase(
            name: "503 Retry-After HTTP-date",
            response: .unavailable(retryAfter: FCMTests.httpDate(Date().addingTimeInterval(3600))), status: 503,
            errorCode: "UNAVAILABLE", expected: .retryableAbout(.seconds(3600))),
        ErrorCase(name: "500 INTERNAL", response: .internalError, status: 500, errorCode: "INTERNAL", expected: .retryable(nil)),
        ErrorCase(
            name: "503 UNAVAILABLE Retry-After", response: .unavailable(retryAfter: "3"), status: 503, errorCode: "UNAVAILABLE",
            expected: .retryable(.seconds(3))),
        ErrorCase(
            name: "502 bare", response: .init(status: 502, body: .string("Bad Gateway")), status: 502, errorCode: "", expected: .retryable(nil)),
        ErrorCase(
            name: "401 THIRD_PARTY_AUTH_ERROR", response: .thirdPartyAuthError, status: 401, errorCode: "THIRD_PARTY_AUTH_ERROR",
            expected: .permanent),
        ErrorCase(
            name: "404 without FcmError",
            response: .googleError(status: 404, canonical: "NOT_FOUND", message: "Requested entity was not found."), status: 404,
            errorCode: "NOT_FOUND", expected: .permanent),
        ErrorCase(
            name: "403 PERMISSION_DENIED",
            response: .googleError(status: 403, canonical: "PERMISSION_DENIED", message: "Firebase Cloud Messaging API has not been used"),
            status: 403, errorCode: "PERMISSION_DENIED", expected: .permanent),
    ]

    @Test(arguments: errorCases)
    func scriptedErrorMapsToOutcome(_ errorCase: ErrorCase) async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.close() } }
        fixture.server.script(token: "device", responses: [errorCase.response])
        let result = await fixture.client.send(Self.message("device"))
        #expect(result.status == errorCase.status)
        #expect(result.attempts == 1)
        #expect(result.errorCode == (errorCase.errorCode.isEmpty ? nil : errorCase.errorCode))
        switch (errorCase.expected, result.outcome) {
        case (.invalidToken, .invalidToken), (.permanent, .permanent):
            break
        case (.retryable(let expected), .retryable(_, let retryAfter)):
            #expect(retryAfter == expected)
        case (.retryableAbout(let expected), .retryable(_, let retryAfter?)):
            // An HTTP-date is relative to when the server wrote it; allow for a loaded machine.
            #expect(retryAfter > expected - .seconds(30) && retryAfter <= expected)
        default:
            Issue.record("\(errorCase.name): got \(result.outcome)")
        }
        // The script is used up: the next send to the same token succeeds.
        #expect(await fixture.client.send(Self.message("device")).outcome.isDelivered)
        await fixture.close()
    }

    @Test func messageShapeOnTheWire() async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.close() } }
        let message = FCMMessage(
            token: "device-1", notification: .init(title: "Sale", body: "50% off", image: "https://img.test/a.png"),
            data: ["b": "2", "a": "1"],
            android: .init(priority: .high, collapseKey: "sale", ttl: .milliseconds(3500), sound: "default", channelId: "promo"),
            analyticsLabel: "spring")
        let result = await fixture.client.send(message)
        #expect(result.outcome.isDelivered)
        let received = try #require(fixture.server.deliveredMessages.first?.message)
        #expect(received["token"] == "device-1")
        #expect(received["notification"] == ["title": "Sale", "body": "50% off", "image": "https://img.test/a.png"])
        #expect(received["data"] == ["a": "1", "b": "2"])
        #expect(received["android"]?["priority"] == "HIGH")
        #expect(received["android"]?["collapse_key"] == "sale")
        #expect(received["android"]?["ttl"] == "3.5s")
        #expect(received["android"]?["notification"] == ["sound": "default", "channel_id": "promo"])
        #expect(received["fcm_options"] == ["analytics_label": "spring"])

        // validate_only reaches the server.
        _ = await fixture.client.send(Self.message("device-2"), validateOnly: true)
        #expect(fixture.server.receivedMessages.last?.validateOnly == true)

        // The server checks the shape as FCM does: reserved data keys are refused, permanently.
        let reserved = await fixture.client.send(FCMMessage(token: "device-3", data: ["google.sent_time": "1"]))
        guard case .permanent(let reason) = reserved.outcome else { Issue.record("\(reserved.outcome)"); return }
        #expect(reason.contains("INVALID_ARGUMENT"))
        #expect(reserved.status == 400)
        await fixture.close()
    }

    // MARK: - Concurrency, several apps, transport

    @Test func concurrentSendsShareOneToken() async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.close() } }
        let client = fixture.client
        let delivered = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<50 {
                group.addTask { await client.send(Self.message("c\(index)")).outcome.isDelivered }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(delivered == 50)
        #expect(fixture.server.tokenRequests.count == 1)

        // All of them meet a 401 at once: one shared refresh, every send retried once.
        fixture.server.expireAllTokens()
        let results = await withTaskGroup(of: FCMResult.self) { group in
            for index in 0..<20 {
                group.addTask { await client.send(Self.message("r\(index)")) }
            }
            return await group.reduce(into: [FCMResult]()) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0.outcome.isDelivered })
        #expect(results.allSatisfy { $0.attempts == 2 })
        #expect(fixture.server.tokenRequests.count == 2)
        #expect(fixture.server.deliveredMessages.count == 70)
        await fixture.close()
    }

    @Test func severalAppsUseTheirOwnCredentials() async throws {
        let second = try FCMTestCredentials(projectId: "beacon-other")
        let first = try await Fixture.start()
        let other = try await Fixture.start(credentials: second)
        defer { Task { await first.close(); await other.close() } }
        let apps = try FCMApps(
            accounts: ["ios.shop": try FCMServiceAccount(json: Self.credentials.serviceAccountJSON(tokenURI: first.server.tokenURL))],
            httpClient: .shared, configuration: FCMConfiguration(endpoint: first.server.baseURL))
        #expect(apps.appIds == ["ios.shop"])
        // Tests need one server per project, so the second app's client gets its own endpoint.
        let both = FCMApps(clients: ["ios.shop": try #require(apps.client(for: "ios.shop")), "android.news": other.client])
        #expect(both.appIds == ["android.news", "ios.shop"])

        #expect(await both.send(Self.message("s1"), app: "ios.shop").outcome.isDelivered)
        #expect(await both.send(Self.message("n1"), app: "android.news").outcome.isDelivered)
        #expect(await both.send(Self.message("s2"), app: "ios.shop").outcome.isDelivered)

        #expect(first.server.deliveredMessages.map(\.token) == ["s1", "s2"])
        #expect(other.server.deliveredMessages.map(\.token) == ["n1"])
        #expect(first.server.tokenRequests.count == 1 && other.server.tokenRequests.count == 1)
        #expect(first.server.tokenRequests.allSatisfy { $0.claims?["iss"]?.stringValue == Self.credentials.clientEmail })
        #expect(other.server.tokenRequests.allSatisfy { $0.claims?["iss"]?.stringValue == second.clientEmail })

        let unknown = await both.send(Self.message("x"), app: "nope")
        guard case .permanent = unknown.outcome else { Issue.record("\(unknown.outcome)"); return }
        await first.close()
        await other.close()
    }

    @Test func unreachableEndpointIsRetryable() async throws {
        // AsyncHTTPClient keeps trying to connect until the request's deadline, so keep it short
        // (but long enough for the first, successful send on a loaded machine).
        let fixture = try await Fixture.start(requestTimeout: .seconds(5))
        defer { Task { await fixture.close() } }
        // A loaded machine can stall past the short deadline: the first send
        // only has to get through once before the endpoint goes away.
        try await Await.condition("a first send delivered", timeout: .seconds(60)) {
            await fixture.client.send(Self.message("up")).outcome.isDelivered
        }
        await fixture.server.stop()
        let result = await fixture.client.send(Self.message("down"))
        guard case .retryable(let reason, nil) = result.outcome else { Issue.record("\(result.outcome)"); return }
        // The send or, when the cached token has to be renewed, the token request fails.
        #expect(reason.hasPrefix("transport") || reason.hasPrefix("token endpoint unreachable"), "\(reason)")
        #expect(result.status == nil)
        #expect(result.latency < .seconds(15))
    }

    // MARK: - Pure parts

    @Test func classificationWithoutServer() {
        let unregistered = Array(
            #"{"error":{"code":404,"status":"NOT_FOUND","message":"x","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}"#
                .utf8)
        #expect(FCMOutcome.classify(status: 404, body: unregistered).errorCode == "UNREGISTERED")
        if case .invalidToken = FCMOutcome.classify(status: 404, body: unregistered).outcome {} else { Issue.record("UNREGISTERED") }
        #expect(FCMOutcome.classify(status: 200, body: Array(#"{"name":"projects/p/messages/1"}"#.utf8)).outcome
            == .delivered(messageName: "projects/p/messages/1"))
        #expect(FCMOutcome.classify(status: 401, body: [UInt8]()).outcome == .unauthenticated)
        if case .retryable(_, let wait) = FCMOutcome.classify(status: 503, retryAfter: "9", body: Array("oops".utf8)).outcome {
            #expect(wait == .seconds(9))
        } else {
            Issue.record("503")
        }
        if case .permanent = FCMOutcome.classify(status: 413, body: [UInt8]()).outcome {} else { Issue.record("413") }
    }

    @Test func jwtAssertionIsVerifiableRS256() throws {
        let account = try FCMServiceAccount(json: Self.credentials.serviceAccountJSON(tokenURI: "https://oauth2.example.test/token"))
        let jwt = try FCMAccessTokenProvider.assertion(for: account, issuedAt: Date(timeIntervalSince1970: 1_700_000_000), lifetime: 7200)
        let parts = jwt.split(separator: ".")
        #expect(parts.count == 3)
        func decode(_ part: Substring) throws -> [UInt8] {
            var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while text.count % 4 != 0 { text += "=" }
            return try #require(Data(base64Encoded: text).map(Array.init))
        }
        let claims = try JSONParser.parse(try decode(parts[1]))
        #expect(claims["iat"] == .integer(1_700_000_000))
        #expect(claims["exp"] == .integer(1_700_003_600))  // capped at one hour
        #expect(claims["aud"] == "https://oauth2.example.test/token")
        let signature = _RSA.Signing.RSASignature(rawRepresentation: try decode(parts[2]))
        #expect(
            Self.credentials.publicKey.isValidSignature(
                signature, for: Array(jwt.utf8.prefix(parts[0].count + 1 + parts[1].count)), padding: .insecurePKCS1v1_5))
    }
}

/// A wall clock that moves only when told to.
private final class FCMTestClock: Sendable {
    private let current: Mutex<Date>
    init(_ start: Date) { current = Mutex(start) }
    var now: Date { current.withLock { $0 } }
    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}
