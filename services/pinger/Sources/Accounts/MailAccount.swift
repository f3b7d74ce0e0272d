import BeaconCore
import Foundation

/// A mailbox's account once opened: only in the pinger's memory, never
/// written, logged or printed (its description hides the secret).
struct MailAccount: Sendable, CustomStringConvertible {
    enum Secret: Sendable {
        case password(String)
        /// An OAuth2 access token, for AUTHENTICATE XOAUTH2.
        case xoauth2(String)
    }

    let host: String
    let port: Int
    let tls: IMAPTLSMode
    let username: String
    let secret: Secret
    let mailbox: String

    /// Who this account is, without its secret: the part of a push's
    /// request id that names the mailbox.
    var identity: String { "\(username)@\(host):\(port)/\(mailbox)" }

    var description: String { "\(identity) (\(tls.rawValue))" }

    /// Reads the opened JSON (`{"host","port","tls","username","password"|"xoauth2","mailbox"}`).
    /// Errors name the field, never a value.
    init(json bytes: Data) throws(ServiceError) {
        let json: JSONValue
        do {
            json = try JSONParser.parse(Array(bytes))
        } catch {
            throw .permanent("the opened account is not JSON")
        }
        guard let host = json["host"]?.stringValue, !host.isEmpty else { throw .permanent("the account has no host") }
        guard let username = json["username"]?.stringValue, !username.isEmpty else { throw .permanent("the account has no username") }
        let tlsName = json["tls"]?.stringValue ?? IMAPTLSMode.implicit.rawValue
        guard let tls = IMAPTLSMode(rawValue: tlsName) else { throw .permanent("the account's tls must be implicit, starttls or none") }
        let port = json["port"]?.doubleValue.map { Int($0) } ?? (tls == .implicit ? 993 : 143)
        guard (1...65_535).contains(port) else { throw .permanent("the account's port must be between 1 and 65535") }
        switch (json["password"]?.stringValue, json["xoauth2"]?.stringValue) {
        case (let password?, nil): secret = .password(password)
        case (nil, let token?): secret = .xoauth2(token)
        default: throw .permanent("the account needs exactly one of password and xoauth2")
        }
        self.host = host
        self.port = port
        self.tls = tls
        self.username = username
        self.mailbox = json["mailbox"]?.stringValue ?? "INBOX"
    }
}
