import Crypto
import Foundation

/// How mail credentials are sealed between the tracker (or the device) and
/// the pinger: HPKE base mode (RFC 9180) with DHKEM(P-256, HKDF-SHA256),
/// HKDF-SHA256 and AES-256-GCM, the app's name as associated data (a sealed
/// account cannot be moved to another app), and this fixed `info`.
///
/// A sealed account travels as one ASCII string:
///
///     v1.<keyId>.<base64url(encapsulated key)>.<base64url(ciphertext)>
///
/// `keyId` names the pinger key it was sealed to (the first 8 bytes of the
/// SHA-256 of the public key's X9.63 bytes, in hex), so that a pinger holding
/// the old and the new key during a rotation opens both.
public enum MailSealing {
    public static let ciphersuite = HPKE.Ciphersuite.P256_SHA256_AES_GCM_256
    public static let info = Data("beacon mail credentials v1".utf8)
    public static let version = "v1"
    /// What `GET /v1/mail/key` names, for clients that seal themselves.
    public static let suiteDescription: [(String, String)] = [
        ("kem", "DHKEM(P-256, HKDF-SHA256)"), ("kdf", "HKDF-SHA256"), ("aead", "AES-256-GCM"),
    ]

    public static func keyId(of key: P256.KeyAgreement.PublicKey) -> String {
        SHA256.hash(data: key.x963Representation).prefix(8).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

/// Why sealed bytes could not be made or opened. The text never holds
/// any of the plaintext.
public struct SealingError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The pinger's public key, all the tracker holds: it can seal, not open.
public struct MailSealingPublicKey: Sendable {
    public let key: P256.KeyAgreement.PublicKey
    public let keyId: String

    public init(_ key: P256.KeyAgreement.PublicKey) {
        self.key = key
        keyId = MailSealing.keyId(of: key)
    }

    /// A PEM `PUBLIC KEY` (SubjectPublicKeyInfo), as `openssl pkey -pubout` writes it.
    public init(pem: String) throws(SealingError) {
        do {
            self.init(try P256.KeyAgreement.PublicKey(pemRepresentation: pem))
        } catch {
            throw SealingError("not a PEM P-256 public key: \(error)")
        }
    }

    public init(file path: String) throws(SealingError) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SealingError("cannot read the public key file \(path)")
        }
        try self.init(pem: text)
    }

    public var pem: String { key.pemRepresentation }
    /// The uncompressed point (65 bytes), base64url without padding: what
    /// most HPKE libraries take as the recipient's key.
    public var rawBase64URL: String { Base64URL.encode(key.x963Representation) }

    /// Seals `plaintext` for the pinger, bound to `app`.
    public func seal(_ plaintext: some DataProtocol, app: String) throws(SealingError) -> String {
        do {
            var sender = try HPKE.Sender(recipientKey: key, ciphersuite: MailSealing.ciphersuite, info: MailSealing.info)
            let ciphertext = try sender.seal(plaintext, authenticating: Data(app.utf8))
            return [MailSealing.version, keyId, Base64URL.encode(sender.encapsulatedKey), Base64URL.encode(ciphertext)]
                .joined(separator: ".")
        } catch {
            throw SealingError("sealing failed: \(error)")
        }
    }
}

/// The pinger's private keys: the current one first, then older ones still
/// accepted while a rotation is under way.
public struct MailSealingPrivateKeys: Sendable {
    public let keys: [P256.KeyAgreement.PrivateKey]

    public init(_ keys: [P256.KeyAgreement.PrivateKey]) throws(SealingError) {
        guard !keys.isEmpty else { throw SealingError("no private key") }
        self.keys = keys
    }

    /// PEM files (`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`).
    public init(files: [String]) throws(SealingError) {
        var keys: [P256.KeyAgreement.PrivateKey] = []
        for path in files {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw SealingError("cannot read the private key file \(path)")
            }
            do {
                keys.append(try P256.KeyAgreement.PrivateKey(pemRepresentation: text))
            } catch {
                throw SealingError("\(path) is not a PEM P-256 private key: \(error)")
            }
        }
        try self.init(keys)
    }

    /// The current key's public half, to give the tracker.
    public var publicKey: MailSealingPublicKey { MailSealingPublicKey(keys[0].publicKey) }
    public var keyIds: [String] { keys.map { MailSealing.keyId(of: $0.publicKey) } }

    /// Opens what `MailSealingPublicKey.seal` made for `app`.
    public func open(_ sealed: String, app: String) throws(SealingError) -> Data {
        let parts = sealed.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == MailSealing.version else {
            throw SealingError("sealed credentials must read v1.<keyId>.<encapsulated key>.<ciphertext>")
        }
        guard let key = keys.first(where: { MailSealing.keyId(of: $0.publicKey) == parts[1] }) else {
            throw SealingError("sealed to key \(parts[1]), which this pinger does not hold (it holds \(keyIds.joined(separator: ", ")))")
        }
        guard let encapsulated = Base64URL.decode(parts[2]), let ciphertext = Base64URL.decode(parts[3]) else {
            throw SealingError("sealed credentials are not base64url")
        }
        do {
            var recipient = try HPKE.Recipient(
                privateKey: key, ciphersuite: MailSealing.ciphersuite, info: MailSealing.info, encapsulatedKey: encapsulated)
            return try recipient.open(ciphertext, authenticating: Data(app.utf8))
        } catch {
            throw SealingError("sealed credentials do not open (wrong key, wrong app, or altered): \(error)")
        }
    }
}

/// base64url without padding (RFC 4648 §5), as JOSE and HPKE tools write it.
public enum Base64URL {
    public static func encode(_ bytes: some DataProtocol) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func decode(_ text: some StringProtocol) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !base64.contains("=") else { return nil }
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}
