import BeaconCore
import BeaconSealing
import Foundation
import HTTPTypes
import Hummingbird

/// `/v1/mail/*` on the tracker's router (low volume; the intake's channel
/// handler passes them on): registrations are checked, their account sealed
/// to the pinger's key before anything is written, and written to the mail
/// stream; 202 only once Redis has them. Every answer is counted in
/// `beacon_tracker_mail_requests_total{endpoint,outcome}`.
struct MailRoutes: Sendable {
    /// nil: `mail.publicKeyFile` is not set, and every mail endpoint answers 503.
    let settings: MailSettings?
    let requests: RouterRequests
    let writer: MailWriter?
    let metrics: TrackerMetrics

    func add(to router: Router<BasicRequestContext>) {
        router.post("/v1/mail/register") { request, _ in
            await answer("register") { (mail) async throws(MailError) in try await register(request, mail) }
        }
        router.post("/v1/mail/defer") { request, _ in
            await answer("defer") { (mail) async throws(MailError) in try await change(request, kind: .pause, mail) }
        }
        router.post("/v1/mail/stop") { request, _ in
            await answer("stop") { (mail) async throws(MailError) in try await change(request, kind: .stop, mail) }
        }
        router.get("/v1/mail/key") { _, _ in
            await answer("key") { mail in key(mail) }
        }
    }

    /// Runs an endpoint, turns a refusal into its JSON answer, counts the outcome.
    private func answer(_ endpoint: String, _ handle: (MailSettings) async throws(MailError) -> (HTTPResponse.Status, JSONValue)) async -> Response {
        let status: HTTPResponse.Status, body: JSONValue, outcome: String
        do throws(MailError) {
            guard let settings else { throw MailError.notConfigured }
            (status, body) = try await handle(settings)
            outcome = "accepted"
        } catch {
            (status, body, outcome) = (error.status, error.json, error.code)
        }
        metrics.mailRequest(endpoint: endpoint, outcome: outcome)
        var headers: HTTPFields = [.contentType: "application/json"]
        if status == .serviceUnavailable { headers[.retryAfter] = "1" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(body))))
    }

    // MARK: endpoints

    private func register(_ request: Request, _ mail: MailSettings) async throws(MailError) -> (HTTPResponse.Status, JSONValue) {
        let payload = try await body(request, limit: mail.rules.maxBodyBytes)
        let app = try app(request, payload)
        let registration = try MailRegistrationRequest(payload, rules: mail.rules)
        let sealed: String
        switch registration.account {
        case .sealed(let text): sealed = text
        case .plaintext(let account):
            do {
                sealed = try mail.publicKey.seal(JSONWriter.bytes(.object(account)), app: app)
            } catch {
                throw MailError(status: .internalServerError, code: "sealing_failed", message: "\(error)")
            }
        }
        let now = Date()
        let registrationId = Self.newRegistrationId()
        let expiresAt = Timestamp.iso8601(now.addingTimeInterval(Double(registration.expiresInSeconds)))
        let message = MailRegistrationMessage.register(MailRegistration(
            registrationId: registrationId, app: app, deviceToken: registration.deviceToken, platform: registration.platform,
            sealedAccount: sealed, notification: registration.notification, expiresAt: expiresAt, receivedAt: Timestamp.iso8601(now)))
        try await write(message)
        return (.accepted, [
            "registrationId": .string(registrationId), "stopToken": .string(mail.stopTokens.token(app: app, registrationId: registrationId)),
            "expiresAt": .string(expiresAt),
        ])
    }

    private func change(_ request: Request, kind: MailChangeRequest.Kind, _ mail: MailSettings) async throws(MailError)
        -> (HTTPResponse.Status, JSONValue)
    {
        let payload = try await body(request, limit: mail.rules.maxBodyBytes)
        let app = try app(request, payload)
        let now = Date()
        let change = try MailChangeRequest(payload, kind: kind, rules: mail.rules, now: now)
        guard mail.stopTokens.isValid(change.stopToken, app: app, registrationId: change.registrationId) else { throw .wrongStopToken }
        let receivedAt = Timestamp.iso8601(now)
        let message: MailRegistrationMessage = switch kind {
        case .pause: .pause(registrationId: change.registrationId, app: app, until: change.until ?? receivedAt, receivedAt: receivedAt)
        case .stop: .stop(registrationId: change.registrationId, app: app, receivedAt: receivedAt)
        }
        try await write(message)
        var answer = JSONObject(pairs: [("registrationId", .string(change.registrationId)), ("type", .string(kind.name))])
        if let until = change.until { answer["until"] = .string(until) }
        return (.accepted, .object(answer))
    }

    private func key(_ mail: MailSettings) -> (HTTPResponse.Status, JSONValue) {
        var body = JSONObject(pairs: [
            ("keyId", .string(mail.publicKey.keyId)), ("publicKey", .string(mail.publicKey.pem)),
            ("publicKeyRaw", .string(mail.publicKey.rawBase64URL)),
        ])
        for (name, value) in MailSealing.suiteDescription { body[name] = .string(value) }
        body["info"] = .string(String(decoding: MailSealing.info, as: UTF8.self))
        body["aad"] = .string("the app name, UTF-8")
        return (.ok, .object(body))
    }

    // MARK: the parts every write shares

    /// The body as a JSON object, bounded by `mail.maxBodyBytes` (413 above).
    private func body(_ request: Request, limit: Int) async throws(MailError) -> JSONObject {
        do throws(RouterRequests.Refusal) {
            return try await requests.body(request, limit: limit, maxDepth: 8)
        } catch {
            throw MailError(error)
        }
    }

    private func app(_ request: Request, _ payload: JSONObject) throws(MailError) -> String {
        do throws(RouterRequests.Refusal) {
            return try requests.app(request, payload)
        } catch {
            throw MailError(error)
        }
    }

    private func write(_ message: MailRegistrationMessage) async throws(MailError) {
        guard let writer else { throw .notConfigured }
        switch await writer.write(message) {
        case .stored: return
        case .unavailable(let reason): throw .unavailable(reason)
        }
    }

    /// 128 random bits, base64url: 22 characters, safe in URLs and keys.
    static func newRegistrationId() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Base64URL.encode(bytes)
    }
}
