import BeaconCore
import Crypto
import Foundation
import Synchronization

/// A signed provider token (JWT) and when it was issued.
public struct APNsProviderToken: Sendable, Equatable {
    /// The compact JWT, as sent after `bearer `.
    public let jwt: String
    /// The `iat` claim.
    public let issuedAt: Date
}

/// Makes and caches the ES256 JWT that authenticates every request.
///
/// Apple wants one token reused across requests and connections, refreshed no
/// more often than every 20 minutes and no less often than every 60. The
/// provider hands out the cached token until it is `refreshInterval` old
/// (40 minutes by default), then signs a new one. After APNs answers
/// `ExpiredProviderToken`, ``refresh(replacing:)`` signs a new token once, however
/// many requests failed with the old one at the same time.
public final class APNsTokenProvider: Sendable {
    public static let defaultRefreshInterval: Duration = .seconds(40 * 60)

    public let teamId: String
    public let keyId: String
    public let refreshInterval: Duration
    private let signingKey: P256.Signing.PrivateKey
    private let now: @Sendable () -> Date
    private let state = Mutex<State>(State())

    private struct State {
        var current: APNsProviderToken?
        var generated = 0
    }

    /// - Parameter now: the clock for `iat` and for the token's age; tests pass their own.
    public init(
        teamId: String,
        keyId: String,
        signingKey: P256.Signing.PrivateKey,
        refreshInterval: Duration = APNsTokenProvider.defaultRefreshInterval,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        precondition(refreshInterval > .zero, "refreshInterval must be positive")
        self.teamId = teamId
        self.keyId = keyId
        self.signingKey = signingKey
        self.refreshInterval = refreshInterval
        self.now = now
    }

    public convenience init(
        credentials: APNsCredentials,
        refreshInterval: Duration = APNsTokenProvider.defaultRefreshInterval,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.init(
            teamId: credentials.teamId, keyId: credentials.keyId, signingKey: credentials.signingKey,
            refreshInterval: refreshInterval, now: now
        )
    }

    /// How many tokens were signed so far.
    public var generatedCount: Int { state.withLock { $0.generated } }

    /// The token to send now: the cached one while it is younger than
    /// `refreshInterval` (and not dated in the future), else a new one.
    public func currentToken() throws -> APNsProviderToken {
        let time = now()
        return try state.withLock { state in
            if let token = state.current {
                let age = time.timeIntervalSince(token.issuedAt)
                if age >= 0, age < PushRetryPolicy.seconds(refreshInterval) { return token }
            }
            return try sign(at: time, into: &state)
        }
    }

    /// Signs a new token unless another caller already replaced `stale`;
    /// returns the token to use from now on.
    @discardableResult
    public func refresh(replacing stale: APNsProviderToken?) throws -> APNsProviderToken {
        let time = now()
        return try state.withLock { state in
            if let current = state.current, current != stale { return current }
            return try sign(at: time, into: &state)
        }
    }

    private func sign(at time: Date, into state: inout State) throws -> APNsProviderToken {
        let issuedAt = Date(timeIntervalSince1970: time.timeIntervalSince1970.rounded(.down))
        let header: JSONValue = ["alg": "ES256", "kid": .string(keyId)]
        let claims: JSONValue = ["iss": .string(teamId), "iat": .integer(Int64(issuedAt.timeIntervalSince1970))]
        let signingInput = APNsBase64URL.encode(JSONWriter.bytes(header)) + "." + APNsBase64URL.encode(JSONWriter.bytes(claims))
        let signature = try signingKey.signature(for: Array(signingInput.utf8))
        let token = APNsProviderToken(
            jwt: signingInput + "." + APNsBase64URL.encode(Array(signature.rawRepresentation)),
            issuedAt: issuedAt
        )
        state.current = token
        state.generated += 1
        return token
    }
}

/// base64url without padding (RFC 7515 §2), as JWTs use it.
private enum APNsBase64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }
}
