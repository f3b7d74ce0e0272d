import BeaconCore
import BeaconSealing
import Foundation

/// Opens a registration's sealed account with the pinger's keys and checks
/// it against this pinger's policy. Every failure is permanent: the device
/// has to register again.
struct AccountOpener: Sendable {
    let keys: MailSealingPrivateKeys
    let allowPlaintext: Bool

    func open(_ sealed: String, app: String) throws(ServiceError) -> MailAccount {
        let plaintext: Data
        do {
            plaintext = try keys.open(sealed, app: app)
        } catch {
            throw .permanent("\(error)")
        }
        let account = try MailAccount(json: plaintext)
        if account.tls == .none && !allowPlaintext {
            throw .permanent("tls: none is refused (pinger.allowPlaintext is false)")
        }
        return account
    }
}
