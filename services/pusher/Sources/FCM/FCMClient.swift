import AsyncHTTPClient
import BeaconCore
import Foundation
import NIOCore

/// Where and how an FCM client talks to Google (or to a test server).
public struct FCMConfiguration: Sendable {
    public static let defaultEndpoint = "https://fcm.googleapis.com"

    /// Base URL of the FCM v1 API; `/v1/projects/{id}/messages:send` is appended.
    public var endpoint: String
    /// Replaces the service account's `token_uri` (and with it the JWT's `aud`) when set.
    public var tokenURL: String?
    /// Time limit of one HTTP request (token exchange or messages:send).
    public var requestTimeout: Duration
    /// A cached access token is replaced once it has less than this left.
    public var tokenRefreshMargin: Duration

    public init(
        endpoint: String = FCMConfiguration.defaultEndpoint, tokenURL: String? = nil,
        requestTimeout: Duration = .seconds(10), tokenRefreshMargin: Duration = .seconds(60)
    ) {
        self.endpoint = endpoint
        self.tokenURL = tokenURL
        self.requestTimeout = requestTimeout
        self.tokenRefreshMargin = tokenRefreshMargin
    }
}

/// Sends FCM HTTP v1 messages for one Firebase project (one app's credentials).
///
/// `send` makes one request, or two when FCM refuses the access token (401):
/// then the token is refreshed and the request made once more. Every other
/// retry is the caller's, guided by the outcome.
public final class FCMClient: Sendable {
    public let projectId: String
    public let tokenProvider: FCMAccessTokenProvider
    /// `{endpoint}/v1/projects/{projectId}/messages:send`.
    public let sendURL: String
    private let httpClient: HTTPClient
    private let requestTimeout: TimeAmount
    private let now: @Sendable () -> Date

    /// - Parameter httpClient: owned by the caller, who shuts it down after the last send.
    public init(
        account: FCMServiceAccount, httpClient: HTTPClient, configuration: FCMConfiguration = .init(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws(FCMServiceAccountError) {
        var account = account
        if let tokenURL = configuration.tokenURL { account = try account.withTokenURI(tokenURL) }
        var endpoint = configuration.endpoint
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        self.projectId = account.projectId
        self.sendURL = "\(endpoint)/v1/projects/\(FCMClient.escapePathSegment(account.projectId))/messages:send"
        self.httpClient = httpClient
        self.requestTimeout = configuration.requestTimeout.fcmTimeAmount
        self.now = now
        self.tokenProvider = FCMAccessTokenProvider(
            account: account, httpClient: httpClient, refreshMargin: configuration.tokenRefreshMargin,
            requestTimeout: configuration.requestTimeout, now: now)
    }

    /// Sends one message. Never throws: every failure is an outcome.
    /// - Parameter validateOnly: FCM checks the message without delivering it.
    public func send(_ message: FCMMessage, validateOnly: Bool = false) async -> FCMResult {
        let clock = ContinuousClock()
        let start = clock.now
        let body = JSONWriter.bytes(message.requestBody(validateOnly: validateOnly))
        var attempts = 0
        var token: String
        do {
            token = try await tokenProvider.accessToken()
        } catch {
            return Self.result(for: error, attempts: 0, latency: clock.now - start)
        }
        while true {
            attempts += 1
            let answer: Answer
            do {
                answer = try await post(body, token: token)
            } catch {
                return FCMResult(
                    outcome: .retryable(reason: "transport: \(error)", retryAfter: nil), status: nil, errorCode: nil,
                    latency: clock.now - start, attempts: attempts)
            }
            let (outcome, errorCode) = FCMOutcome.classify(
                status: answer.status, retryAfter: answer.retryAfter, body: answer.body, now: now())
            if outcome == .unauthenticated && attempts == 1 {
                do {
                    token = try await tokenProvider.refresh(replacing: token)
                    continue
                } catch {
                    return Self.result(for: error, attempts: attempts, latency: clock.now - start)
                }
            }
            return FCMResult(outcome: outcome, status: answer.status, errorCode: errorCode, latency: clock.now - start, attempts: attempts)
        }
    }

    private struct Answer {
        var status: Int
        var retryAfter: String?
        var body: [UInt8]
    }

    private func post(_ body: [UInt8], token: String) async throws -> Answer {
        var request = HTTPClientRequest(url: sendURL)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json; charset=UTF-8")
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await httpClient.execute(request, timeout: requestTimeout)
        let bytes = try await response.body.collect(upTo: 256 * 1024)
        return Answer(status: Int(response.status.code), retryAfter: response.headers.first(name: "Retry-After"), body: Array(buffer: bytes))
    }

    private static func result(for error: FCMAuthError, attempts: Int, latency: Duration) -> FCMResult {
        let outcome: FCMOutcome
        switch error {
        case .unavailable(_, let retryAfter): outcome = .retryable(reason: error.description, retryAfter: retryAfter)
        case .transport, .invalidResponse: outcome = .retryable(reason: error.description, retryAfter: nil)
        case .rejected, .signingFailed: outcome = .permanent(reason: error.description)
        }
        return FCMResult(outcome: outcome, status: nil, errorCode: "AUTH", latency: latency, attempts: attempts)
    }

    static func escapePathSegment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? text
    }
}
