import BeaconCore
import BeaconRedis
import BeaconSealing
import BeaconTestSupport
import Crypto
import Foundation
import Testing
@testable import TrackerService

/// Mail registration at the tracker, as a device sees it, against a real
/// Redis: every refusal with its status and reason, the account sealed
/// before it is written (the plaintext nowhere in Redis), stop tokens, the
/// key endpoint, and a second HPKE implementation (pyhpke, through
/// scripts/seal-mail-account.py) whose sealing the pinger's key opens.
@Suite(.serialized) struct MailRegistrationTests {
    let stack = BeaconStack()
    static let password = "correct-horse-battery-staple-\(UUID().uuidString.prefix(8))"
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The pinger's key pair and the stop-token secret, made for this test, in a temp folder.
    struct Keys {
        let directory: URL
        let privateKey = P256.KeyAgreement.PrivateKey()
        var publicKeyFile: String { directory.appendingPathComponent("pinger-public.pem").path }
        var secretFile: String { directory.appendingPathComponent("token-secret").path }
        var opener: MailSealingPrivateKeys { get throws { try MailSealingPrivateKeys([privateKey]) } }
        var keyId: String { MailSealing.keyId(of: privateKey.publicKey) }

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("mail-keys-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try privateKey.publicKey.pemRepresentation.write(toFile: publicKeyFile, atomically: true, encoding: .utf8)
            let secret = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            try (secret + "\n").write(toFile: secretFile, atomically: true, encoding: .utf8)
        }

        func environment(_ extra: [String: String] = [:]) -> [String: String] {
            var env = ["BEACON_MAIL_PUBLIC_KEY_FILE": publicKeyFile, "BEACON_MAIL_TOKEN_SECRET_FILE": secretFile]
            for (key, value) in extra { env[key] = value }
            return env
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    static func account(password: String = password) -> [String: Any] {
        ["host": "imap.example.com", "username": "someone@example.com", "password": password]
    }

    static func registration(account: [String: Any] = account(), device: [String: Any] = ["token": "apns-token-1", "type": "ios"]) -> [String: Any] {
        ["device": device, "account": account, "notification": ["alert": "New mail", "silent": false, "count": true], "expiresIn": 3600]
    }

    /// An opened account as text values (JSONSerialization's numbers do not compare as Ints).
    func opened(_ keys: Keys, _ sealed: String) throws -> [String: String] {
        let object = try JSONSerialization.jsonObject(with: try keys.opener.open(sealed, app: BeaconStack.app)) as? [String: Any] ?? [:]
        return object.mapValues { "\($0)" }
    }

    func post(_ tracker: ServiceProcess, _ path: String, _ json: Any, writeKey: String? = BeaconStack.writeKey) async throws -> HTTP.Reply {
        try await HTTP.postJSON("\(tracker.baseURL)\(path)", json: json, writeKey: writeKey)
    }

    /// The mail stream's entries: the raw `e` bytes and their JSON.
    func mailEntries(_ redis: RedisConnection) throws -> [(raw: String, json: [String: Any])] {
        let reply = try redis.command(["XRANGE", stack.mailStream, "-", "+"]).checked()
        return try StreamMessage.parseList(reply).map { message in
            let raw = String(decoding: message.field(StreamEntry.eventField) ?? [], as: UTF8.self)
            #expect(message.fields.count == 1, "one field per entry")
            return (raw, try JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any] ?? [:])
        }
    }

    /// `beacon_tracker_mail_requests_total` for one endpoint and outcome (labels in any order).
    func mailRequests(_ exposition: String, _ endpoint: String, _ outcome: String) -> Double {
        for line in exposition.split(separator: "\n") where line.hasPrefix("beacon_tracker_mail_requests_total{")
            && line.contains(#"endpoint="\#(endpoint)""#) && line.contains(#"outcome="\#(outcome)""#) {
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
        #expect(!reply.text.contains(Self.password), "\(comment): a refusal repeats the password")
    }

    /// A key without a secret, a short secret, or an unreadable key stop start-up with the key named.
    @Test func mailSettingsAreCheckedAtStartUp() async throws {
        let keys = try Keys()
        defer { keys.remove() }
        func settings(_ environment: [String: String]) async throws -> TrackerSettings {
            try TrackerSettings(try await SettingsReader(file: nil, environment: environment))
        }
        #expect(try await settings([:]).mail == nil)
        let on = try await settings(keys.environment())
        #expect(on.mail?.publicKey.keyId == keys.keyId)
        #expect(on.mail?.rules.maxExpiresInSeconds == 172_800 && on.mail?.rules.maxBodyBytes == 16_384 && on.mail?.rules.allowPlaintext == false)
        #expect(on.mail?.stream == "beacon:mail")
        await #expect(throws: SettingsError.self) { _ = try await settings(["BEACON_MAIL_PUBLIC_KEY_FILE": keys.publicKeyFile]) }
        let short = keys.directory.appendingPathComponent("short").path
        try "too short".write(toFile: short, atomically: true, encoding: .utf8)
        let shortError = await #expect(throws: SettingsError.self) {
            _ = try await settings(keys.environment(["BEACON_MAIL_TOKEN_SECRET_FILE": short]))
        }
        #expect(shortError?.description.contains("at least 32") == true, "\(String(describing: shortError))")
        await #expect(throws: SettingsError.self) { _ = try await settings(keys.environment(["BEACON_MAIL_PUBLIC_KEY_FILE": short])) }
        await #expect(throws: SettingsError.self) { _ = try await settings(keys.environment(["BEACON_MAIL_MAX_EXPIRES_IN_SECONDS": "172801"])) }
        // The stop token is what the lead's formula says: base64url(HMAC-SHA256(secret, "beacon-mail-stop\n" + app + "\n" + id)).
        let stopTokens = MailStopToken(secret: Data(repeating: 7, count: 32))
        let expected = Base64URL.encode(Data(HMAC<SHA256>.authenticationCode(
            for: Data("beacon-mail-stop\nshop\nreg-1".utf8), using: SymmetricKey(data: Data(repeating: 7, count: 32)))))
        #expect(stopTokens.token(app: "shop", registrationId: "reg-1") == expected)
        #expect(stopTokens.isValid(expected, app: "shop", registrationId: "reg-1"))
        #expect(!stopTokens.isValid(expected, app: "other", registrationId: "reg-1"))
        #expect(!stopTokens.isValid(expected, app: "shop", registrationId: "reg-2"))
        #expect(!stopTokens.isValid("not base64url!", app: "shop", registrationId: "reg-1"))
    }

    @Test func aRegistrationIsSealedBeforeRedisAndAnsweredOnceStored() async throws {
        let keys = try Keys()
        defer { keys.remove() }
        let tracker = try await stack.startTracker(extra: keys.environment())
        let redis = try RedisConnection(try TestEnvironment.redisURL())
        defer { _ = try? redis.command(["DEL", stack.mailStream]) }

        let before = Date()
        let reply = try await post(tracker, "/v1/mail/register", Self.registration())
        #expect(reply.status == 202, "\(reply.text)")
        let answer = try reply.json()
        let registrationId = try #require(answer["registrationId"] as? String)
        let stopToken = try #require(answer["stopToken"] as? String)
        let expiresAt = try #require((answer["expiresAt"] as? String).flatMap(Timestamp.parse))
        #expect(registrationId.count >= 22 && !registrationId.contains("/") && !registrationId.contains("+"))
        #expect(stopToken.count == 43)
        #expect(abs(expiresAt.timeIntervalSince(before) - 3600) < 30)

        // The write key in the body works as well.
        var withBodyKey = Self.registration(device: ["token": "fcm-token-2", "type": "android"])
        withBodyKey["writeKey"] = BeaconStack.writeKey
        let second = try await post(tracker, "/v1/mail/register", withBodyKey, writeKey: nil)
        #expect(second.status == 202, "\(second.text)")
        #expect(try second.json()["registrationId"] as? String != registrationId)

        let entries = try mailEntries(redis)
        #expect(entries.count == 2)
        let entry = try #require(entries.first)
        // Only sealed bytes: neither the password nor the other account fields are in Redis.
        for plaintext in [Self.password, "someone@example.com", "imap.example.com"] {
            #expect(!entries.contains { $0.raw.contains(plaintext) }, "\(plaintext) is in the mail stream")
        }
        #expect(entry.json["type"] as? String == "register")
        #expect(entry.json["registrationId"] as? String == registrationId)
        #expect(entry.json["app"] as? String == BeaconStack.app)
        #expect(entry.json["device"] as? [String: String] == ["token": "apns-token-1", "type": "ios"])
        let notification = try JSONParser.parse(entry.raw)["notification"]
        #expect(notification?["alert"] == "New mail" && notification?["silent"] == false && notification?["count"] == true)
        #expect((entry.json["expiresAt"] as? String).flatMap(Timestamp.parse) == expiresAt)
        #expect((entry.json["receivedAt"] as? String).flatMap(Timestamp.parse) != nil)
        let accountField = try #require(entry.json["account"] as? [String: Any])
        #expect(Array(accountField.keys) == ["sealed"])
        let sealed = try #require(accountField["sealed"] as? String)
        #expect(sealed.hasPrefix("v1.\(keys.keyId)."))
        // The contract type reads it, and the pinger's key opens it to the account, defaults filled in.
        let message = try MailRegistrationMessage(json: try JSONParser.parse(entry.raw))
        #expect(message.registrationId == registrationId)
        #expect(try opened(keys, sealed) == ["host": "imap.example.com", "port": "993", "tls": "implicit", "username": "someone@example.com",
                           "password": Self.password, "mailbox": "INBOX"])
        #expect(entries[1].json["device"] as? [String: String] == ["token": "fcm-token-2", "type": "android"])
        // Nor anywhere in the events stream or the tracker's log.
        #expect(try redis.command(["XLEN", stack.stream]).checked().integer == 0)
        let metrics = try await HTTP.get("\(tracker.baseURL)/metrics")
        #expect(mailRequests(metrics.text, "register", "accepted") == 2, "\(metrics.text)")
        _ = try await tracker.terminate()
        #expect(tracker.logLines(containing: Self.password).isEmpty)
    }

    @Test func everyInvalidRegistrationIsRefusedWithItsReason() async throws {
        let keys = try Keys()
        defer { keys.remove() }
        let tracker = try await stack.startTracker(extra: keys.environment(["BEACON_MAIL_MAX_EXPIRES_IN_SECONDS": "7200"]))
        let redis = try RedisConnection(try TestEnvironment.redisURL())
        defer { _ = try? redis.command(["DEL", stack.mailStream]) }

        func with(_ change: (inout [String: Any]) -> Void) -> [String: Any] {
            var body = Self.registration()
            change(&body)
            return body
        }
        func withAccount(_ change: (inout [String: Any]) -> Void) -> [String: Any] {
            with { body in
                var account = body["account"] as! [String: Any]
                change(&account)
                body["account"] = account
            }
        }
        let cases: [(String, [String: Any], Int, String, String?)] = [
            ("no device", with { $0["device"] = nil }, 400, "invalid_request", "device"),
            ("no token", with { $0["device"] = ["type": "ios"] }, 400, "invalid_request", "device.token"),
            ("empty token", with { $0["device"] = ["token": "", "type": "ios"] }, 400, "invalid_request", "device.token"),
            ("web", with { $0["device"] = ["token": "t", "type": "web"] }, 400, "unsupported_platform", "device.type"),
            ("unknown type", with { $0["device"] = ["token": "t", "type": "blackberry"] }, 400, "invalid_request", "device.type"),
            ("unknown device key", with { $0["device"] = ["token": "t", "type": "ios", "model": "x"] }, 400, "invalid_request", "device.model"),
            ("no account", with { $0["account"] = nil }, 400, "invalid_request", "account"),
            ("no host", withAccount { $0["host"] = nil }, 400, "invalid_request", "account.host"),
            ("empty host", withAccount { $0["host"] = "" }, 400, "invalid_request", "account.host"),
            ("oversize host", withAccount { $0["host"] = String(repeating: "h", count: 300) }, 400, "invalid_request", "account.host"),
            ("host with a scheme", withAccount { $0["host"] = "imaps://imap.example.com" }, 400, "invalid_request", "account.host"),
            ("no username", withAccount { $0["username"] = nil }, 400, "invalid_request", "account.username"),
            ("oversize username", withAccount { $0["username"] = String(repeating: "u", count: 400) }, 400, "invalid_request", "account.username"),
            ("no password", withAccount { $0["password"] = nil }, 400, "invalid_request", "account.password"),
            ("password and xoauth2", withAccount { $0["xoauth2"] = "token" }, 400, "invalid_request", "account.password"),
            ("port 0", withAccount { $0["port"] = 0 }, 400, "invalid_request", "account.port"),
            ("port 65536", withAccount { $0["port"] = 65536 }, 400, "invalid_request", "account.port"),
            ("port as text", withAccount { $0["port"] = "993" }, 400, "invalid_request", "account.port"),
            ("unknown tls", withAccount { $0["tls"] = "ssl" }, 400, "invalid_request", "account.tls"),
            ("tls none", withAccount { $0["tls"] = "none" }, 400, "plaintext_not_allowed", "account.tls"),
            ("unknown account key", withAccount { $0["folder"] = "x" }, 400, "invalid_request", "account.folder"),
            ("sealed with others", withAccount { $0["sealed"] = "v1.a.b.c" }, 400, "invalid_request", "account.sealed"),
            ("sealed malformed", with { $0["account"] = ["sealed": "not-sealed"] }, 400, "invalid_request", "account.sealed"),
            ("sealed to another key", with { $0["account"] = ["sealed": "v1.0011223344556677.AAAA.AAAA"] }, 400, "unknown_key", "account.sealed"),
            ("expiresIn 0", with { $0["expiresIn"] = 0 }, 400, "invalid_request", "expiresIn"),
            ("expiresIn negative", with { $0["expiresIn"] = -5 }, 400, "invalid_request", "expiresIn"),
            ("expiresIn over the maximum", with { $0["expiresIn"] = 7201 }, 400, "invalid_request", "expiresIn"),
            ("expiresIn as text", with { $0["expiresIn"] = "60" }, 400, "invalid_request", "expiresIn"),
            ("unknown top-level key", with { $0["extra"] = true }, 400, "invalid_request", "extra"),
            ("notification not an object", with { $0["notification"] = "loud" }, 400, "invalid_request", "notification"),
            ("unknown notification key", with { $0["notification"] = ["sound": "ding"] }, 400, "invalid_request", "notification.sound"),
        ]
        for (name, body, status, code, field) in cases {
            expectRefusal(try await post(tracker, "/v1/mail/register", body), status, code, field: field, name)
        }
        let wrongKey = try await post(tracker, "/v1/mail/register", with { $0["account"] = ["sealed": "v1.0011223344556677.AAAA.AAAA"] })
        #expect((try wrongKey.json()["error"] as? [String: Any])?["currentKeyId"] as? String == keys.keyId)
        #expect(wrongKey.text.contains(keys.keyId))

        // Write keys, media type, JSON and size, as for events.
        expectRefusal(try await post(tracker, "/v1/mail/register", Self.registration(), writeKey: "wrong"), 401, "unauthorized")
        expectRefusal(try await post(tracker, "/v1/mail/register", Self.registration(), writeKey: nil), 401, "unauthorized")
        let url = "\(tracker.baseURL)/v1/mail/register"
        let auth = ["Authorization": HTTP.basicAuth(BeaconStack.writeKey)]
        expectRefusal(try await HTTP.post(url, body: Data("{".utf8), headers: auth.merging(["Content-Type": "application/json"]) { $1 }), 400, "invalid_json")
        expectRefusal(try await HTTP.post(url, body: Data("[]".utf8), headers: auth.merging(["Content-Type": "application/json"]) { $1 }), 400, "invalid_json")
        expectRefusal(try await HTTP.post(url, body: Data("a=b".utf8), headers: auth.merging(["Content-Type": "application/x-www-form-urlencoded"]) { $1 }),
                      415, "unsupported_media_type")
        let huge = with { $0["device"] = ["token": String(repeating: "t", count: 20_000), "type": "ios"] }
        expectRefusal(try await post(tracker, "/v1/mail/register", huge), 413, "too_large")

        #expect(try mailEntries(redis).isEmpty, "nothing refused was written")
        let metrics = try await HTTP.get("\(tracker.baseURL)/metrics")
        #expect(mailRequests(metrics.text, "register", "invalid_request") >= 20, "\(metrics.text)")
        #expect(mailRequests(metrics.text, "register", "unauthorized") == 2)
        _ = try await tracker.terminate()
    }

    @Test func deferAndStopNeedTheRegistrationsStopToken() async throws {
        let keys = try Keys()
        defer { keys.remove() }
        let tracker = try await stack.startTracker(extra: keys.environment())
        let redis = try RedisConnection(try TestEnvironment.redisURL())
        defer { _ = try? redis.command(["DEL", stack.mailStream]) }
        let registered = try await post(tracker, "/v1/mail/register", Self.registration())
        #expect(registered.status == 202, "\(registered.text)")
        let id = try #require(try registered.json()["registrationId"] as? String)
        let token = try #require(try registered.json()["stopToken"] as? String)
        let other = try await post(tracker, "/v1/mail/register", Self.registration())
        let otherToken = try #require(try other.json()["stopToken"] as? String)

        let until = Timestamp.iso8601(Date().addingTimeInterval(600))
        let deferred = try await post(tracker, "/v1/mail/defer", ["registrationId": id, "stopToken": token, "until": until])
        #expect(deferred.status == 202, "\(deferred.text)")
        #expect(try deferred.json()["until"] as? String == until)
        // Another registration's token, a made-up one, or the right one for another app's key: 403.
        expectRefusal(try await post(tracker, "/v1/mail/defer", ["registrationId": id, "stopToken": otherToken, "until": until]), 403, "invalid_stop_token")
        expectRefusal(try await post(tracker, "/v1/mail/stop", ["registrationId": id, "stopToken": "bm90LWEtdG9rZW4"]), 403, "invalid_stop_token")
        expectRefusal(try await post(tracker, "/v1/mail/stop", ["registrationId": id, "stopToken": token], writeKey: "wrong"), 401, "unauthorized")
        // Until must be a time, ahead, and not too far.
        let past = Timestamp.iso8601(Date().addingTimeInterval(-60)), far = Timestamp.iso8601(Date().addingTimeInterval(3 * 86_400))
        for (name, value) in [("past", past), ("too far", far), ("not a time", "tomorrow")] {
            expectRefusal(try await post(tracker, "/v1/mail/defer", ["registrationId": id, "stopToken": token, "until": value]),
                          400, "invalid_request", field: "until", name)
        }
        expectRefusal(try await post(tracker, "/v1/mail/defer", ["registrationId": id, "stopToken": token]), 400, "invalid_request", field: "until")
        expectRefusal(try await post(tracker, "/v1/mail/stop", ["registrationId": id]), 400, "invalid_request", field: "stopToken")
        expectRefusal(try await post(tracker, "/v1/mail/stop", ["registrationId": id, "stopToken": token, "until": until]),
                      400, "invalid_request", field: "until")

        var stopBody: [String: Any] = ["registrationId": id, "stopToken": token]
        stopBody["writeKey"] = BeaconStack.writeKey
        let stopped = try await post(tracker, "/v1/mail/stop", stopBody, writeKey: nil)
        #expect(stopped.status == 202, "\(stopped.text)")

        let entries = try mailEntries(redis).map(\.json)
        #expect(entries.map { $0["type"] as? String } == ["register", "register", "defer", "stop"])
        #expect(entries[2]["registrationId"] as? String == id && entries[2]["until"] as? String == until)
        #expect(entries[2]["app"] as? String == BeaconStack.app)
        #expect(entries[3]["registrationId"] as? String == id && entries[3]["receivedAt"] != nil)
        // A second tracker with the same secret (each has its own Redis) takes the same token.
        let twin = try await stack.startTracker(extra: keys.environment())
        let again = try await post(twin, "/v1/mail/stop", ["registrationId": id, "stopToken": token])
        #expect(again.status == 202, "\(again.text)")
        _ = try await twin.terminate()
        _ = try await tracker.terminate()
    }

    @Test func theKeyEndpointNamesTheKeyAndTheSuite() async throws {
        let keys = try Keys()
        defer { keys.remove() }
        let tracker = try await stack.startTracker(extra: keys.environment())
        let reply = try await HTTP.get("\(tracker.baseURL)/v1/mail/key", headers: ["Origin": "https://app.example.com"])
        #expect(reply.status == 200, "\(reply.text)")
        #expect(reply.header("Access-Control-Allow-Origin") == "https://app.example.com")
        let key = try reply.json()
        #expect(key["keyId"] as? String == keys.keyId)
        let pem = try #require(key["publicKey"] as? String)
        #expect(try P256.KeyAgreement.PublicKey(pemRepresentation: pem).x963Representation == keys.privateKey.publicKey.x963Representation)
        #expect(Base64URL.decode(key["publicKeyRaw"] as? String ?? "") == keys.privateKey.publicKey.x963Representation)
        #expect(key["kem"] as? String == "DHKEM(P-256, HKDF-SHA256)")
        #expect(key["kdf"] as? String == "HKDF-SHA256")
        #expect(key["aead"] as? String == "AES-256-GCM")
        #expect(key["info"] as? String == "beacon mail credentials v1")
        #expect(key["aad"] as? String != nil)
        _ = try await tracker.terminate()
    }

    @Test func withoutAKeyTheMailEndpointsAnswer503AndEventsGoOn() async throws {
        let tracker = try await stack.startTracker()
        let redis = try RedisConnection(try TestEnvironment.redisURL())
        defer { _ = try? redis.command(["DEL", stack.stream, stack.mailStream]) }
        for path in ["/v1/mail/register", "/v1/mail/defer", "/v1/mail/stop"] {
            expectRefusal(try await post(tracker, path, Self.registration()), 503, "mail_not_configured", path)
        }
        expectRefusal(try await HTTP.get("\(tracker.baseURL)/v1/mail/key"), 503, "mail_not_configured", "key")
        let event = try await post(tracker, "/v1/track", ["userId": "u1", "event": "E"])
        #expect(event.status == 200, "\(event.text)")
        #expect(try redis.command(["XLEN", stack.mailStream]).checked().integer == 0)
        _ = try await tracker.terminate()
    }

    @Test func plaintextIMAPIsTakenOnlyWhenAllowed() async throws {
        let keys = try Keys()
        defer { keys.remove() }
        let tracker = try await stack.startTracker(extra: keys.environment(["BEACON_MAIL_ALLOW_PLAINTEXT": "true"]))
        let redis = try RedisConnection(try TestEnvironment.redisURL())
        defer { _ = try? redis.command(["DEL", stack.mailStream]) }
        var account = Self.account()
        account["tls"] = "none"
        account["password"] = nil
        account["xoauth2"] = "ya29.token-\(Self.password)"
        let reply = try await post(tracker, "/v1/mail/register", Self.registration(account: account))
        #expect(reply.status == 202, "\(reply.text)")
        let entry = try #require(try mailEntries(redis).first)
        #expect(!entry.raw.contains(Self.password))
        let sealed = try #require((entry.json["account"] as? [String: Any])?["sealed"] as? String)
        let openedAccount = try opened(keys, sealed)
        #expect(openedAccount["port"] == "143" && openedAccount["tls"] == "none" && openedAccount["xoauth2"] == "ya29.token-\(Self.password)")
        #expect(openedAccount["password"] == nil)
        _ = try await tracker.terminate()
    }

    /// The Python tool (pyhpke: a second HPKE implementation) seals with the
    /// tracker's key; the tracker takes `account.sealed` as it is, and the
    /// pinger's key opens it to the same account.
    @Test func anAccountSealedByThePythonToolOpensAtThePinger() async throws {
        let keys = try Keys()
        defer { keys.remove() }
        let tracker = try await stack.startTracker(extra: keys.environment())
        let redis = try RedisConnection(try TestEnvironment.redisURL())
        defer { _ = try? redis.command(["DEL", stack.mailStream]) }

        let python = ProcessInfo.processInfo.environment["BEACON_TEST_PYTHON"] ?? Self.root.appendingPathComponent(".deps/venv/bin/python3").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [
            Self.root.appendingPathComponent("scripts/seal-mail-account.py").path, "--key", "\(tracker.baseURL)/v1/mail/key",
            "--app", BeaconStack.app, "--host", "imap.example.com", "--port", "1993", "--username", "someone@example.com",
            "--password-env", "SEAL_TEST_PASSWORD", "--mailbox", "Work",
        ]
        process.environment = ProcessInfo.processInfo.environment.merging(["SEAL_TEST_PASSWORD": Self.password]) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile(), errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(String(decoding: errors, as: UTF8.self))")
        let sealed = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(sealed.hasPrefix("v1.\(keys.keyId)."), "\(sealed)")

        let reply = try await post(tracker, "/v1/mail/register", Self.registration(account: ["sealed": sealed]))
        #expect(reply.status == 202, "\(reply.text)")
        let entry = try #require(try mailEntries(redis).first)
        #expect((entry.json["account"] as? [String: Any])?["sealed"] as? String == sealed)
        #expect(try opened(keys, sealed) == ["host": "imap.example.com", "port": "1993", "tls": "implicit", "username": "someone@example.com",
                           "password": Self.password, "mailbox": "Work"])
        // Bound to the app: another app's name does not open it.
        #expect(throws: SealingError.self) { try keys.opener.open(sealed, app: "another-app") }
        _ = try await tracker.terminate()
    }
}
