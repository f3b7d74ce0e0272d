import BeaconCore
import BeaconSealing
import Crypto
import Foundation

/// The token that lets a device defer or stop its own registration, and
/// nobody else's. Stateless, so that any tracker (each has its own Redis)
/// checks it: base64url(HMAC-SHA256(secret, "beacon-mail-stop\n" + app +
/// "\n" + registrationId)), the secret shared by every tracker
/// (`mail.tokenSecretFile`).
struct MailStopToken: Sendable {
    static let minimumSecretBytes = 32
    private let key: SymmetricKey

    init(secret: some DataProtocol) {
        key = SymmetricKey(data: Data(secret))
    }

    /// The file's bytes, a trailing newline (as `openssl rand -hex 32 > f` writes) left out.
    init(file path: String, key setting: String) throws(SettingsError) {
        guard var secret = FileManager.default.contents(atPath: path) else {
            throw .file(path: path, reason: "cannot read the mail token secret (\(setting))")
        }
        while let last = secret.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { secret.removeLast() }
        guard secret.count >= Self.minimumSecretBytes else {
            throw .invalid(key: setting, value: path, reason: "holds \(secret.count) bytes; the secret needs at least \(Self.minimumSecretBytes)")
        }
        self.init(secret: secret)
    }

    private static func message(app: String, registrationId: String) -> Data {
        Data("beacon-mail-stop\n\(app)\n\(registrationId)".utf8)
    }

    func token(app: String, registrationId: String) -> String {
        Base64URL.encode(Data(HMAC<SHA256>.authenticationCode(for: Self.message(app: app, registrationId: registrationId), using: key)))
    }

    /// Compared in constant time (swift-crypto's `isValidAuthenticationCode`).
    func isValid(_ token: String, app: String, registrationId: String) -> Bool {
        guard let code = Base64URL.decode(token), code.count == SHA256.byteCount else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: Self.message(app: app, registrationId: registrationId), using: key)
    }
}
