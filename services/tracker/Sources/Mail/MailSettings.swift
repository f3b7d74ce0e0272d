import BeaconCore
import BeaconSealing

/// What mail registration needs once `mail.publicKeyFile` is set: the
/// pinger's public key (the tracker can seal, never open), the stop-token
/// secret, and the bounds requests are checked against.
struct MailSettings: Sendable {
    /// The upper bound of `mail.maxExpiresInSeconds`: two days.
    static let maxExpiresIn = 172_800

    let publicKey: MailSealingPublicKey
    let stopTokens: MailStopToken
    let rules: MailRules
    let stream: String

    init(publicKey: MailSealingPublicKey, stopTokens: MailStopToken, rules: MailRules, stream: String) {
        self.publicKey = publicKey
        self.stopTokens = stopTokens
        self.rules = rules
        self.stream = stream
    }
}

/// How strictly mail requests are read.
struct MailRules: Sendable {
    var allowPlaintext = false
    var maxExpiresInSeconds = MailSettings.maxExpiresIn
    var maxBodyBytes = 16 * 1024
    /// The key id a client-sealed account must name (the current public key's).
    var keyId = ""
}
