import BeaconCore
import Crypto
import Foundation

/// Which APNs a client talks to.
public enum APNsEnvironment: String, Sendable, CaseIterable {
    case sandbox
    case production

    /// Apple's host for this environment, reached on port 443.
    public var host: String {
        switch self {
        case .sandbox: "api.sandbox.push.apple.com"
        case .production: "api.push.apple.com"
        }
    }

    /// `https://host` for this environment.
    public var defaultEndpoint: String { "https://\(host)" }
}

/// Credentials that cannot be used: permanent, no retry reads a key file better.
public struct APNsCredentialsError: ClassifiedError, Sendable, Equatable {
    public let message: String
    public var description: String { message }
    public var kind: FailureKind { .permanent }
    init(_ message: String) { self.message = message }
}

/// What token authentication with APNs needs: the team, the key id and the
/// ES256 signing key from the `.p8` file Apple hands out, the app's topic
/// (its bundle id), and where to connect.
public struct APNsCredentials: Sendable {
    /// The 10-character Team ID (the JWT's `iss`).
    public let teamId: String
    /// The 10-character Key ID of the `.p8` key (the JWT header's `kid`).
    public let keyId: String
    public let signingKey: P256.Signing.PrivateKey
    /// Default `apns-topic` for notifications that do not set their own.
    public let topic: String
    public let environment: APNsEnvironment
    /// Replaces the environment's host, e.g. `https://127.0.0.1:8443` for a test server.
    public let endpointOverride: String?

    /// The base URL requests go to: the override, or Apple's host for the environment.
    public var endpoint: String {
        var base = endpointOverride ?? environment.defaultEndpoint
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    public init(
        teamId: String,
        keyId: String,
        signingKey: P256.Signing.PrivateKey,
        topic: String,
        environment: APNsEnvironment,
        endpointOverride: String? = nil
    ) throws(APNsCredentialsError) {
        let team = teamId.trimmingCharacters(in: .whitespacesAndNewlines)
        let key = keyId.trimmingCharacters(in: .whitespacesAndNewlines)
        let topic = topic.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !team.isEmpty else { throw APNsCredentialsError("APNs team id is empty") }
        guard !key.isEmpty else { throw APNsCredentialsError("APNs key id is empty") }
        guard !topic.isEmpty else { throw APNsCredentialsError("APNs topic (bundle id) is empty") }
        if let endpointOverride {
            guard endpointOverride.hasPrefix("https://") || endpointOverride.hasPrefix("http://") else {
                throw APNsCredentialsError("APNs endpoint '\(endpointOverride)' must start with https://")
            }
        }
        self.teamId = team
        self.keyId = key
        self.signingKey = signingKey
        self.topic = topic
        self.environment = environment
        self.endpointOverride = endpointOverride
    }

    /// Credentials from the text of a `.p8` file (PKCS#8 PEM, "BEGIN PRIVATE KEY").
    public init(
        teamId: String,
        keyId: String,
        privateKeyPEM: String,
        topic: String,
        environment: APNsEnvironment,
        endpointOverride: String? = nil
    ) throws(APNsCredentialsError) {
        let key: P256.Signing.PrivateKey
        do {
            key = try P256.Signing.PrivateKey(pemRepresentation: privateKeyPEM.trimmingCharacters(in: .whitespacesAndNewlines))
        } catch {
            throw APNsCredentialsError("APNs key \(keyId) is not a P-256 private key in PEM (.p8) form: \(error)")
        }
        try self.init(
            teamId: teamId, keyId: keyId, signingKey: key, topic: topic,
            environment: environment, endpointOverride: endpointOverride
        )
    }

    /// Credentials from a `.p8` file on disk.
    public init(
        teamId: String,
        keyId: String,
        privateKeyPath: String,
        topic: String,
        environment: APNsEnvironment,
        endpointOverride: String? = nil
    ) throws(APNsCredentialsError) {
        let text: String
        do {
            text = try String(contentsOfFile: privateKeyPath, encoding: .utf8)
        } catch {
            throw APNsCredentialsError("cannot read APNs key file \(privateKeyPath): \(error.localizedDescription)")
        }
        try self.init(
            teamId: teamId, keyId: keyId, privateKeyPEM: text, topic: topic,
            environment: environment, endpointOverride: endpointOverride
        )
    }
}
