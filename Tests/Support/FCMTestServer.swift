import BeaconCore
import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import _CryptoExtras

/// A stand-in for Google's side of FCM HTTP v1, on 127.0.0.1 over plain HTTP:
///
/// - `POST /token` — the OAuth2 token endpoint. Takes the jwt-bearer grant, checks
///   the assertion's RS256 signature against `publicKey` and its claims (iss,
///   scope, aud = `tokenURL`, iat, exp ≤ iat + 1 h), and issues opaque access
///   tokens that expire after `expiresIn` seconds.
/// - `POST /v1/projects/{projectId}/messages:send` — checks the Bearer token
///   (401 UNAUTHENTICATED if unknown or expired), validates the message's shape
///   (400 INVALID_ARGUMENT with a `google.rpc.BadRequest` detail), then answers
///   what was scripted for the registration token, or success.
///
/// Everything received is recorded for assertions.
public final class FCMTestServer: Sendable {
    public let projectId: String
    /// The FCM endpoint base, e.g. `http://127.0.0.1:PORT`.
    public let baseURL: String
    /// The token endpoint: use it as the service account's `token_uri`.
    public let tokenURL: String
    public let port: Int

    private let state: Mutex<State>
    private let task: Mutex<Task<Void, Never>?>
    private let group: ServiceGroup

    // MARK: - Scripted answers

    /// One answer of messages:send (or of the token endpoint).
    public struct ScriptedResponse: Sendable {
        public var status: Int
        public var body: JSONValue
        /// A `Retry-After` header to send with it.
        public var retryAfter: String?

        public init(status: Int, body: JSONValue, retryAfter: String? = nil) {
            self.status = status
            self.body = body
            self.retryAfter = retryAfter
        }

        /// A Google API error body with an optional FcmError `errorCode` and BadRequest field violation.
        public static func googleError(
            status: Int, canonical: String, message: String, fcmErrorCode: String? = nil, field: String? = nil,
            retryAfter: String? = nil
        ) -> ScriptedResponse {
            var details: [JSONValue] = []
            if let fcmErrorCode {
                details.append(["@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": .string(fcmErrorCode)])
            }
            if let field {
                details.append([
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [["field": .string(field), "description": .string(message)]],
                ])
            }
            var error: JSONObject = ["code": .integer(Int64(status)), "message": .string(message), "status": .string(canonical)]
            if !details.isEmpty { error["details"] = .array(details) }
            return ScriptedResponse(status: status, body: ["error": .object(error)], retryAfter: retryAfter)
        }

        /// 404, the app instance was unregistered.
        public static let unregistered = googleError(
            status: 404, canonical: "NOT_FOUND", message: "Requested entity was not found.", fcmErrorCode: "UNREGISTERED")
        /// 403, the token belongs to another sender.
        public static let senderIdMismatch = googleError(
            status: 403, canonical: "PERMISSION_DENIED", message: "SenderId mismatch", fcmErrorCode: "SENDER_ID_MISMATCH")
        /// 400 naming the registration token.
        public static let invalidRegistrationToken = googleError(
            status: 400, canonical: "INVALID_ARGUMENT", message: "The registration token is not a valid FCM registration token",
            fcmErrorCode: "INVALID_ARGUMENT")
        /// 400 about some other part of the message.
        public static func invalidArgument(field: String, message: String) -> ScriptedResponse {
            googleError(status: 400, canonical: "INVALID_ARGUMENT", message: message, fcmErrorCode: "INVALID_ARGUMENT", field: field)
        }
        /// 429, sending rate exceeded.
        public static func quotaExceeded(retryAfter: String? = nil) -> ScriptedResponse {
            googleError(
                status: 429, canonical: "RESOURCE_EXHAUSTED", message: "Quota exceeded for quota metric 'Send requests'",
                fcmErrorCode: "QUOTA_EXCEEDED", retryAfter: retryAfter)
        }
        /// 500.
        public static let internalError = googleError(
            status: 500, canonical: "INTERNAL", message: "Internal error encountered.", fcmErrorCode: "INTERNAL")
        /// 503, optionally with Retry-After.
        public static func unavailable(retryAfter: String? = nil) -> ScriptedResponse {
            googleError(
                status: 503, canonical: "UNAVAILABLE", message: "The service is currently unavailable.", fcmErrorCode: "UNAVAILABLE",
                retryAfter: retryAfter)
        }
        /// 401 as for a revoked access token, whatever token was sent.
        public static let unauthenticated = googleError(
            status: 401, canonical: "UNAUTHENTICATED",
            message: "Request had invalid authentication credentials. Expected OAuth 2 access token.")
        /// 401 about the APNs/web push credentials behind the project, not the access token.
        public static let thirdPartyAuthError = googleError(
            status: 401, canonical: "UNAUTHENTICATED", message: "Auth error from APNS or Web Push Service",
            fcmErrorCode: "THIRD_PARTY_AUTH_ERROR")

        /// For the token endpoint: an OAuth2 error.
        public static func oauthError(status: Int = 400, error: String, description: String) -> ScriptedResponse {
            ScriptedResponse(status: status, body: ["error": .string(error), "error_description": .string(description)])
        }
    }

    // MARK: - Records

    public struct TokenRequest: Sendable {
        public var grantType: String?
        /// The assertion's decoded JWT header and claims, when it could be decoded.
        public var header: JSONValue?
        public var claims: JSONValue?
        /// The access token issued, or nil if the request was refused.
        public var issuedToken: String?
        /// Why it was refused.
        public var rejection: String?
    }

    public struct ReceivedMessage: Sendable {
        /// The registration token (`message.token`), if any.
        public var token: String?
        public var message: JSONValue?
        public var validateOnly: Bool
        public var accessToken: String?
        /// The status the server answered.
        public var status: Int
        /// For status 200: `projects/{id}/messages/{n}`.
        public var messageName: String?
    }

    private struct State {
        var expiresIn: Int
        var clientEmail: String?
        var accessTokens: [String: Date] = [:]
        var tokenCounter = 0
        var messageCounter = 0
        var scripts: [String: [ScriptedResponse]] = [:]
        var tokenEndpointScript: [ScriptedResponse] = []
        var tokenRequests: [TokenRequest] = []
        var received: [ReceivedMessage] = []
    }

    // MARK: - Lifecycle

    /// Starts a server on 127.0.0.1 on a free port.
    /// - Parameters:
    ///   - publicKey: verifies the JWT assertions.
    ///   - clientEmail: when set, the assertion's `iss` must equal it.
    ///   - expiresIn: lifetime of issued access tokens, in seconds (`expires_in`).
    public static func start(
        projectId: String, publicKey: _RSA.Signing.PublicKey, clientEmail: String? = nil, expiresIn: Int = 3600
    ) async throws -> FCMTestServer {
        let box = ServerBox()
        let portWaiter = PortWaiter()
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            guard let server = box.server.withLock({ $0 }) else {
                return Response(status: .serviceUnavailable)
            }
            return await server.respond(to: request, publicKey: publicKey)
        }
        var logger = Logger(label: "FCMTestServer")
        logger.logLevel = .error
        let app = Application(
            responder: responder,
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "FCMTestServer"),
            onServerRunning: { channel in portWaiter.resume(with: .success(channel.localAddress?.port ?? 0)) },
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task {
            do {
                try await group.run()
                portWaiter.resume(with: .failure(FCMTestServerError.stoppedBeforeStart))
            } catch {
                portWaiter.resume(with: .failure(error))
            }
        }
        let port: Int
        do {
            port = try await portWaiter.wait()
        } catch {
            task.cancel()
            await task.value
            throw error
        }
        let server = FCMTestServer(
            projectId: projectId, port: port, clientEmail: clientEmail, expiresIn: expiresIn, group: group, task: task)
        box.server.withLock { $0 = server }
        return server
    }

    private init(projectId: String, port: Int, clientEmail: String?, expiresIn: Int, group: ServiceGroup, task: Task<Void, Never>) {
        self.group = group
        self.projectId = projectId
        self.port = port
        self.baseURL = "http://127.0.0.1:\(port)"
        self.tokenURL = "http://127.0.0.1:\(port)/token"
        self.state = Mutex(State(expiresIn: expiresIn, clientEmail: clientEmail))
        self.task = Mutex(task)
    }

    /// Stops the server (gracefully: open connections are closed) and waits until it is down.
    public func stop() async {
        guard let task = task.withLock({ value in defer { value = nil }; return value }) else { return }
        await group.triggerGracefulShutdown()
        await task.value
    }

    // MARK: - Controls

    /// Lifetime in seconds of access tokens issued from now on.
    public func setExpiresIn(_ seconds: Int) {
        state.withLock { $0.expiresIn = seconds }
    }

    /// Makes every access token issued so far invalid (as if expired or revoked).
    public func expireAllTokens() {
        state.withLock { $0.accessTokens.removeAll() }
    }

    /// Answers for the next messages:send requests to `token`, in order; then success again.
    public func script(token: String, responses: [ScriptedResponse]) {
        state.withLock { $0.scripts[token, default: []] += responses }
    }

    /// Answers for the next token requests, in order, before any checking; then normal service.
    public func scriptTokenEndpoint(responses: [ScriptedResponse]) {
        state.withLock { $0.tokenEndpointScript += responses }
    }

    // MARK: - Observations

    public var tokenRequests: [TokenRequest] { state.withLock { $0.tokenRequests } }
    /// How many access tokens were issued.
    public var issuedTokenCount: Int { state.withLock { $0.tokenRequests.filter { $0.issuedToken != nil }.count } }
    /// Every messages:send request, whatever was answered.
    public var receivedMessages: [ReceivedMessage] { state.withLock { $0.received } }
    /// The messages:send requests answered with 200.
    public var deliveredMessages: [ReceivedMessage] { state.withLock { $0.received.filter { $0.status == 200 } } }

    // MARK: - Handling

    private func respond(to request: Request, publicKey: _RSA.Signing.PublicKey) async -> Response {
        var request = request
        let body: [UInt8]
        do {
            body = Array(buffer: try await request.collectBody(upTo: 1 << 20))
        } catch {
            return json(413, googleErrorBody(413, "FAILED_PRECONDITION", "Request body too large"))
        }
        let path = request.uri.path
        guard request.method == .post else {
            return json(405, googleErrorBody(405, "METHOD_NOT_ALLOWED", "Only POST is served here"))
        }
        if path == "/token" {
            return token(request: request, body: body, publicKey: publicKey)
        }
        let prefix = "/v1/projects/"
        let suffix = "/messages:send"
        if path.hasPrefix(prefix) && path.hasSuffix(suffix) && path.count > prefix.count + suffix.count {
            let project = String(path.dropFirst(prefix.count).dropLast(suffix.count))
            return send(request: request, project: project, body: body)
        }
        return json(404, googleErrorBody(404, "NOT_FOUND", "No such method: \(path)"))
    }

    private func token(request: Request, body: [UInt8], publicKey: _RSA.Signing.PublicKey) -> Response {
        let form = Self.parseForm(String(decoding: body, as: UTF8.self))
        var record = TokenRequest(grantType: form["grant_type"])
        if let scripted = state.withLock({ $0.tokenEndpointScript.isEmpty ? nil : $0.tokenEndpointScript.removeFirst() }) {
            record.rejection = "scripted \(scripted.status)"
            state.withLock { $0.tokenRequests.append(record) }
            return json(scripted.status, scripted.body, retryAfter: scripted.retryAfter)
        }
        func refuse(_ error: String, _ description: String) -> Response {
            record.rejection = "\(error): \(description)"
            state.withLock { $0.tokenRequests.append(record) }
            return json(400, ["error": .string(error), "error_description": .string(description)])
        }
        let contentType = request.headers[.contentType] ?? ""
        guard contentType.lowercased().hasPrefix("application/x-www-form-urlencoded") else {
            return refuse("invalid_request", "Content-Type must be application/x-www-form-urlencoded, got \(contentType)")
        }
        guard form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer" else {
            return refuse("unsupported_grant_type", "Invalid grant_type: \(form["grant_type"] ?? "")")
        }
        guard let assertion = form["assertion"] else { return refuse("invalid_request", "Missing required parameter: assertion") }
        let parts = assertion.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Self.base64URLDecode(parts[0]), let claimBytes = Self.base64URLDecode(parts[1]),
            let signatureBytes = Self.base64URLDecode(parts[2])
        else { return refuse("invalid_grant", "Invalid JWT: not three base64url segments") }
        record.header = try? JSONParser.parse(headerBytes)
        record.claims = try? JSONParser.parse(claimBytes)
        guard let header = record.header, case .object = header, let claims = record.claims, case .object = claims else {
            return refuse("invalid_grant", "Invalid JWT: header or claims are not JSON objects")
        }
        guard header["alg"]?.stringValue == "RS256" else {
            return refuse("invalid_grant", "Invalid JWT: alg must be RS256")
        }
        let signingInput = Array(assertion.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard
            publicKey.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signatureBytes), for: SHA256.hash(data: signingInput),
                padding: .insecurePKCS1v1_5)
        else { return refuse("invalid_grant", "Invalid JWT Signature.") }

        let (expectedIssuer, expiresIn) = state.withLock { ($0.clientEmail, $0.expiresIn) }
        let now = Date().timeIntervalSince1970
        guard let iss = claims["iss"]?.stringValue, !iss.isEmpty else { return refuse("invalid_grant", "Invalid JWT: no iss") }
        if let expectedIssuer, iss != expectedIssuer {
            return refuse("invalid_grant", "Invalid JWT: unknown issuer \(iss)")
        }
        let scopes = (claims["scope"]?.stringValue ?? "").split(separator: " ").map(String.init)
        guard scopes.contains("https://www.googleapis.com/auth/firebase.messaging") else {
            return refuse("invalid_scope", "Invalid JWT: scope must include https://www.googleapis.com/auth/firebase.messaging")
        }
        guard claims["aud"]?.stringValue == tokenURL else {
            return refuse("invalid_grant", "Invalid JWT: aud must be \(tokenURL)")
        }
        guard case .integer(let iat)? = claims["iat"], case .integer(let exp)? = claims["exp"] else {
            return refuse("invalid_grant", "Invalid JWT: iat and exp must be integers")
        }
        guard exp > iat, exp - iat <= 3600 else {
            return refuse("invalid_grant", "Invalid JWT: exp must be after iat and at most one hour later")
        }
        guard Double(iat) <= now + 300, Double(exp) > now - 300 else {
            return refuse("invalid_grant", "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe")
        }

        let accessToken = state.withLock { state -> String in
            state.tokenCounter += 1
            let value = "ya29.test-\(state.tokenCounter)-\(UInt64.random(in: 0...UInt64.max))"
            state.accessTokens[value] = Date().addingTimeInterval(TimeInterval(state.expiresIn))
            record.issuedToken = value
            state.tokenRequests.append(record)
            return value
        }
        return json(200, ["access_token": .string(accessToken), "expires_in": .integer(Int64(expiresIn)), "token_type": "Bearer"])
    }

    private func send(request: Request, project: String, body: [UInt8]) -> Response {
        let authorization = request.headers[.authorization] ?? ""
        let accessToken = authorization.hasPrefix("Bearer ") ? String(authorization.dropFirst("Bearer ".count)) : nil
        let document = try? JSONParser.parse(body)
        var record = ReceivedMessage(
            token: document?["message"]?["token"]?.stringValue, message: document?["message"], validateOnly: document?["validate_only"] == true,
            accessToken: accessToken, status: 0)
        func answer(_ status: Int, _ body: JSONValue, retryAfter: String? = nil, wwwAuthenticate: String? = nil) -> Response {
            record.status = status
            state.withLock { $0.received.append(record) }
            return json(status, body, retryAfter: retryAfter, wwwAuthenticate: wwwAuthenticate)
        }

        let authorized = state.withLock { state -> Bool in
            guard let accessToken, let expiry = state.accessTokens[accessToken] else { return false }
            return expiry > Date()
        }
        guard authorized else {
            return answer(
                401,
                googleErrorBody(
                    401, "UNAUTHENTICATED",
                    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential."
                ), wwwAuthenticate: "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"")
        }
        guard project == projectId else {
            return answer(404, googleErrorBody(404, "NOT_FOUND", "Requested entity was not found."))
        }
        guard let document else {
            return answer(400, googleErrorBody(400, "INVALID_ARGUMENT", "Invalid JSON payload received.", field: ""))
        }
        if let violation = Self.validate(request: document) {
            return answer(400, googleErrorBody(400, "INVALID_ARGUMENT", violation.description, field: violation.field))
        }
        if let token = record.token,
            let scripted = state.withLock({ state -> ScriptedResponse? in
                guard var queue = state.scripts[token], !queue.isEmpty else { return nil }
                let first = queue.removeFirst()
                state.scripts[token] = queue
                return first
            }), scripted.status != 200
        {
            return answer(scripted.status, scripted.body, retryAfter: scripted.retryAfter)
        }
        let name = state.withLock { state -> String in
            state.messageCounter += 1
            return "projects/\(projectId)/messages/0:\(1_700_000_000_000 + state.messageCounter)%\(projectId)"
        }
        record.messageName = name
        return answer(200, ["name": .string(name)])
    }

    // MARK: - Message validation

    struct Violation {
        var field: String
        var description: String
    }

    private static let messageFields: Set<String> = [
        "name", "data", "notification", "android", "webpush", "apns", "fcm_options", "token", "topic", "condition",
    ]
    private static let androidFields: Set<String> = [
        "collapse_key", "priority", "ttl", "restricted_package_name", "data", "notification", "fcm_options", "direct_boot_ok",
    ]

    /// The shape checks FCM makes on `{"message": …, "validate_only": …}`, reduced to the fields Beacon sends.
    static func validate(request document: JSONValue) -> Violation? {
        guard case .object(let top) = document else { return Violation(field: "", description: "Request body must be a JSON object") }
        for (key, _) in top.entries where key != "message" && key != "validate_only" {
            return Violation(field: "", description: "Invalid JSON payload received. Unknown name \"\(key)\": Cannot find field.")
        }
        if let validateOnly = top["validate_only"] {
            guard case .bool = validateOnly else {
                return Violation(field: "validate_only", description: "validate_only must be a boolean")
            }
        }
        guard case .object(let message)? = top["message"] else {
            return Violation(field: "message", description: "Request contains an invalid argument: message is required")
        }
        for (key, _) in message.entries where !messageFields.contains(key) {
            return Violation(
                field: "message", description: "Invalid JSON payload received. Unknown name \"\(key)\" at 'message': Cannot find field.")
        }
        let targets = ["token", "topic", "condition"].filter { message[$0] != nil }
        guard targets.count == 1 else {
            return Violation(field: "message", description: "Exactly one of token, topic or condition must be set")
        }
        for target in targets {
            guard let text = message[target]?.stringValue, !text.isEmpty else {
                return Violation(field: "message.\(target)", description: "\(target) must be a non-empty string")
            }
        }
        if let data = message["data"] {
            guard case .object(let entries) = data else { return Violation(field: "message.data", description: "data must be an object") }
            for (index, entry) in entries.entries.enumerated() {
                guard case .string = entry.value else {
                    return Violation(
                        field: "message.data[\(index)].value", description: "Invalid value at 'message.data[\(index)].value' (TYPE_STRING)")
                }
                let key = entry.key.lowercased()
                if ["from", "notification", "message_type"].contains(key) || key.hasPrefix("google.") || key.hasPrefix("gcm.") {
                    return Violation(field: "message.data", description: "Invalid data payload key: \(entry.key)")
                }
            }
        }
        if let notification = message["notification"] {
            guard case .object(let fields) = notification else {
                return Violation(field: "message.notification", description: "notification must be an object")
            }
            for (key, value) in fields.entries {
                guard ["title", "body", "image"].contains(key) else {
                    return Violation(field: "message.notification", description: "Unknown name \"\(key)\" at 'message.notification'")
                }
                guard case .string = value else {
                    return Violation(field: "message.notification.\(key)", description: "\(key) must be a string")
                }
            }
        }
        if let android = message["android"] {
            guard case .object(let fields) = android else {
                return Violation(field: "message.android", description: "android must be an object")
            }
            for (key, _) in fields.entries where !androidFields.contains(key) {
                return Violation(field: "message.android", description: "Unknown name \"\(key)\" at 'message.android'")
            }
            if let priority = fields["priority"], priority != "NORMAL" && priority != "HIGH" {
                return Violation(field: "message.android.priority", description: "Invalid value at 'message.android.priority'")
            }
            if let ttl = fields["ttl"], !isDuration(ttl.stringValue ?? "") {
                return Violation(field: "message.android.ttl", description: "Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration)")
            }
            if let collapseKey = fields["collapse_key"], collapseKey.stringValue == nil {
                return Violation(field: "message.android.collapse_key", description: "collapse_key must be a string")
            }
            if let notification = fields["notification"], notification.objectValue == nil {
                return Violation(field: "message.android.notification", description: "android.notification must be an object")
            }
        }
        return nil
    }

    /// A protobuf Duration in JSON: digits, optionally a dot and up to nine digits, then "s".
    static func isDuration(_ text: String) -> Bool {
        guard text.hasSuffix("s") else { return false }
        let number = text.dropLast().split(separator: ".", omittingEmptySubsequences: false)
        guard let whole = number.first, !whole.isEmpty, whole.allSatisfy(\.isASCIIDigit), number.count <= 2 else { return false }
        if number.count == 2 {
            let fraction = number[1]
            return !fraction.isEmpty && fraction.count <= 9 && fraction.allSatisfy(\.isASCIIDigit)
        }
        return true
    }

    // MARK: - Helpers

    private func json(_ status: Int, _ body: JSONValue, retryAfter: String? = nil, wwwAuthenticate: String? = nil) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "application/json; charset=UTF-8"
        if let retryAfter { fields[.retryAfter] = retryAfter }
        if let wwwAuthenticate { fields[.wwwAuthenticate] = wwwAuthenticate }
        return Response(
            status: HTTPResponse.Status(code: status), headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(body))))
    }

    private func googleErrorBody(_ code: Int, _ status: String, _ message: String, field: String? = nil) -> JSONValue {
        var error: JSONObject = ["code": .integer(Int64(code)), "message": .string(message), "status": .string(status)]
        if let field {
            error["details"] = [
                [
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [["field": .string(field), "description": .string(message)]],
                ]
            ]
        }
        return ["error": .object(error)]
    }

    static func parseForm(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                (part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding) ?? String(part)
            }
            result[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return result
    }

    static func base64URLDecode(_ text: Substring) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }
}

public enum FCMTestServerError: Error {
    case stoppedBeforeStart
}

/// A throwaway service account for tests: a fresh 2048-bit RSA key and its key file.
public struct FCMTestCredentials: Sendable {
    public let projectId: String
    public let clientEmail: String
    public let privateKeyId: String
    public let privateKey: _RSA.Signing.PrivateKey
    public var publicKey: _RSA.Signing.PublicKey { privateKey.publicKey }

    public init(projectId: String, clientEmail: String? = nil, privateKey: _RSA.Signing.PrivateKey? = nil) throws {
        self.projectId = projectId
        self.clientEmail = clientEmail ?? "beacon-pusher@\(projectId).iam.gserviceaccount.com"
        self.privateKeyId = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        self.privateKey = try privateKey ?? _RSA.Signing.PrivateKey(keySize: .bits2048)
    }

    /// The key file as the Firebase console writes it (PKCS#8 PEM key).
    public func serviceAccountJSON(tokenURI: String) -> String {
        JSONWriter.string([
            "type": "service_account",
            "project_id": .string(projectId),
            "private_key_id": .string(privateKeyId),
            "private_key": .string(privateKey.pkcs8PEMRepresentation),
            "client_email": .string(clientEmail),
            "client_id": "100000000000000000000",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": .string(tokenURI),
        ])
    }
}

private final class ServerBox: Sendable {
    let server = Mutex<FCMTestServer?>(nil)
}

/// Hands the bound port from `onServerRunning` (or the startup error) to `start`, once.
private final class PortWaiter: Sendable {
    private enum Phase {
        case waiting
        case suspended(CheckedContinuation<Int, any Error>)
        case done(Result<Int, any Error>)
        case delivered
    }

    private let phase = Mutex<Phase>(.waiting)

    func resume(with result: Result<Int, any Error>) {
        let continuation = phase.withLock { phase -> CheckedContinuation<Int, any Error>? in
            switch phase {
            case .waiting:
                phase = .done(result)
                return nil
            case .suspended(let continuation):
                phase = .delivered
                return continuation
            case .done, .delivered:
                return nil
            }
        }
        continuation?.resume(with: result)
    }

    func wait() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            let ready = phase.withLock { phase -> Result<Int, any Error>? in
                if case .done(let result) = phase {
                    phase = .delivered
                    return result
                }
                phase = .suspended(continuation)
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
