import AsyncHTTPClient
import BeaconCore
import Crypto
import Foundation
import NIOCore
import _CryptoExtras

/// An OAuth2 access token and when it stops being valid.
public struct FCMAccessToken: Sendable, Equatable {
    public let value: String
    public let expiresAt: Date

    public init(value: String, expiresAt: Date) {
        self.value = value
        self.expiresAt = expiresAt
    }
}

/// Why no access token could be had from the token endpoint.
public enum FCMAuthError: Error, Equatable, CustomStringConvertible {
    /// The token endpoint could not be reached or did not answer in time.
    case transport(String)
    /// 429 or 5xx from the token endpoint: try again later.
    case unavailable(status: Int, retryAfter: Duration?)
    /// Any other non-200: the credentials are refused (`invalid_grant`, `invalid_client`, …).
    case rejected(status: Int, error: String, description: String)
    /// 200 without a usable `access_token` / `expires_in`.
    case invalidResponse(String)
    /// The JWT assertion could not be signed.
    case signingFailed(String)

    /// Whether waiting and trying again may help.
    public var isRetryable: Bool {
        switch self {
        case .transport, .unavailable, .invalidResponse: true
        case .rejected, .signingFailed: false
        }
    }

    public var description: String {
        switch self {
        case .transport(let reason): "token endpoint unreachable: \(reason)"
        case .unavailable(let status, _): "token endpoint unavailable (HTTP \(status))"
        case .rejected(let status, let error, let description):
            "token endpoint refused the service account (HTTP \(status) \(error)\(description.isEmpty ? "" : ": \(description)"))"
        case .invalidResponse(let reason): "token endpoint answered nonsense: \(reason)"
        case .signingFailed(let reason): "cannot sign the JWT assertion: \(reason)"
        }
    }
}

/// Turns a service account into OAuth2 access tokens for FCM, following Google's
/// "OAuth 2.0 for Server to Server Applications": an RS256-signed JWT assertion
/// is exchanged at the account's `token_uri` with the jwt-bearer grant.
///
/// The token is cached until `refreshMargin` before it expires. Concurrent
/// callers that find no fresh token share one in-flight exchange.
public actor FCMAccessTokenProvider {
    public static let scope = "https://www.googleapis.com/auth/firebase.messaging"
    public static let grantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"

    public nonisolated let account: FCMServiceAccount
    private let httpClient: HTTPClient
    private let refreshMargin: TimeInterval
    private let assertionLifetime: TimeInterval
    private let requestTimeout: TimeAmount
    private let now: @Sendable () -> Date

    private var cached: FCMAccessToken?
    private var inFlight: Task<FCMAccessToken, any Error>?
    /// How many exchanges were started at the token endpoint (successful or not).
    public private(set) var exchangeCount = 0

    /// - Parameters:
    ///   - refreshMargin: a token is replaced once it has less than this left.
    ///   - assertionLifetime: `exp - iat` of the JWT assertion; Google allows at most one hour.
    ///   - now: the wall clock, replaceable in tests.
    public init(
        account: FCMServiceAccount,
        httpClient: HTTPClient,
        refreshMargin: Duration = .seconds(60),
        assertionLifetime: Duration = .seconds(3600),
        requestTimeout: Duration = .seconds(10),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.account = account
        self.httpClient = httpClient
        self.refreshMargin = refreshMargin.fcmSeconds
        self.assertionLifetime = min(assertionLifetime.fcmSeconds, 3600)
        self.requestTimeout = requestTimeout.fcmTimeAmount
        self.now = now
    }

    /// The cached token, if it is still fresh.
    public var currentToken: FCMAccessToken? {
        guard let cached, isFresh(cached) else { return nil }
        return cached
    }

    /// A fresh access token: the cached one, or a new one from the token endpoint.
    public func accessToken() async throws(FCMAuthError) -> String {
        if let cached, isFresh(cached) { return cached.value }
        return try await exchange().value
    }

    /// A new token, because `stale` was refused (HTTP 401). If another caller
    /// already replaced `stale`, its replacement is returned without a new exchange.
    public func refresh(replacing stale: String?) async throws(FCMAuthError) -> String {
        if let cached, cached.value != stale, isFresh(cached) { return cached.value }
        if cached?.value == stale { cached = nil }
        return try await exchange().value
    }

    /// Forgets the cached token; the next caller gets a new one.
    public func invalidate() {
        cached = nil
    }

    private func isFresh(_ token: FCMAccessToken) -> Bool {
        now().addingTimeInterval(refreshMargin) < token.expiresAt
    }

    private func exchange() async throws(FCMAuthError) -> FCMAccessToken {
        let task: Task<FCMAccessToken, any Error>
        if let inFlight {
            task = inFlight
        } else {
            exchangeCount += 1
            let request = ExchangeRequest(
                account: account, httpClient: httpClient, assertionLifetime: assertionLifetime,
                requestTimeout: requestTimeout, now: now)
            task = Task { try await request.run() }
            inFlight = task
        }
        do {
            let token = try await task.value
            if inFlight == task {
                inFlight = nil
                cached = token
            }
            return token
        } catch {
            if inFlight == task { inFlight = nil }
            throw (error as? FCMAuthError) ?? .transport("\(error)")
        }
    }

    /// Builds the signed JWT assertion for `account`, valid from `issuedAt` for `lifetime` seconds.
    public static func assertion(
        for account: FCMServiceAccount, issuedAt: Date, lifetime: TimeInterval = 3600
    ) throws(FCMAuthError) -> String {
        var header: JSONObject = ["alg": "RS256", "typ": "JWT"]
        if let kid = account.privateKeyId { header["kid"] = .string(kid) }
        let iat = Int64(issuedAt.timeIntervalSince1970.rounded(.down))
        let claims: JSONObject = [
            "iss": .string(account.clientEmail),
            "scope": .string(scope),
            "aud": .string(account.tokenURI),
            "iat": .integer(iat),
            "exp": .integer(iat + Int64(min(lifetime, 3600))),
        ]
        let signingInput =
            FCMBase64URL.encode(JSONWriter.bytes(.object(header))) + "." + FCMBase64URL.encode(JSONWriter.bytes(.object(claims)))
        do {
            let signature = try account.signingKey.signature(
                for: SHA256.hash(data: Array(signingInput.utf8)), padding: .insecurePKCS1v1_5)
            return signingInput + "." + FCMBase64URL.encode(signature.rawRepresentation)
        } catch {
            throw .signingFailed("\(error)")
        }
    }
}

/// One exchange at the token endpoint; a value so that it can run in its own task.
private struct ExchangeRequest: Sendable {
    let account: FCMServiceAccount
    let httpClient: HTTPClient
    let assertionLifetime: TimeInterval
    let requestTimeout: TimeAmount
    let now: @Sendable () -> Date

    func run() async throws(FCMAuthError) -> FCMAccessToken {
        let issuedAt = now()
        let assertion = try FCMAccessTokenProvider.assertion(for: account, issuedAt: issuedAt, lifetime: assertionLifetime)
        var request = HTTPClientRequest(url: account.tokenURI)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        let form = "grant_type=" + FCMFormEncoding.escape(FCMAccessTokenProvider.grantType) + "&assertion=" + FCMFormEncoding.escape(assertion)
        request.body = .bytes(ByteBuffer(string: form))

        let status: Int
        let body: [UInt8]
        let retryAfter: String?
        do {
            let response = try await httpClient.execute(request, timeout: requestTimeout)
            status = Int(response.status.code)
            retryAfter = response.headers.first(name: "Retry-After")
            body = Array(buffer: try await response.body.collect(upTo: 64 * 1024))
        } catch {
            throw .transport("\(error)")
        }

        let document = try? JSONParser.parse(body)
        guard status == 200 else {
            if status == 429 || status >= 500 {
                throw .unavailable(status: status, retryAfter: retryAfter.flatMap { PushRetryPolicy.parseRetryAfter($0, now: now()) })
            }
            throw .rejected(
                status: status,
                error: document?["error"]?.stringValue ?? "HTTP \(status)",
                description: document?["error_description"]?.stringValue ?? "")
        }
        guard let document else { throw .invalidResponse("body is not JSON") }
        guard let value = document["access_token"]?.stringValue, !value.isEmpty else {
            throw .invalidResponse("no access_token")
        }
        if let type = document["token_type"]?.stringValue, type.lowercased() != "bearer" {
            throw .invalidResponse("token_type \(type), expected Bearer")
        }
        guard let expiresIn = document["expires_in"]?.doubleValue, expiresIn > 0 else {
            throw .invalidResponse("no positive expires_in")
        }
        // Counted from before the request went out, so the cache errs on the early side.
        return FCMAccessToken(value: value, expiresAt: issuedAt.addingTimeInterval(expiresIn))
    }
}

enum FCMBase64URL {
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var text = Data(bytes).base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }
}

enum FCMFormEncoding {
    /// `application/x-www-form-urlencoded` escaping: unreserved characters stay, the rest is %XX.
    static func escape(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                output += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return output
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

extension Duration {
    var fcmSeconds: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }

    var fcmTimeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
