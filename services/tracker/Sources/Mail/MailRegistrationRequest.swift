import BeaconCore
import BeaconSealing

/// A `POST /v1/mail/register` body, checked strictly: every refusal names
/// the field and what is wrong with it, never what was sent for a
/// credential. The plaintext account lives only in this value, for the
/// request, until it is sealed.
struct MailRegistrationRequest {
    enum Account {
        /// host, port, tls, username, password or xoauth2, mailbox, defaults filled in: to be sealed.
        case plaintext(JSONObject)
        /// Sealed by the client (`v1.<keyId>.<enc>.<ct>`), to the current key.
        case sealed(String)
    }

    static let topLevelKeys: Set<String> = ["device", "account", "notification", "expiresIn", "writeKey"]
    static let deviceKeys: Set<String> = ["token", "type"]
    static let accountKeys: Set<String> = ["host", "port", "tls", "username", "password", "xoauth2", "mailbox", "sealed"]
    static let notificationKeys: Set<String> = ["alert", "silent", "count"]
    static let tlsModes = ["implicit", "starttls", "none"]

    static let maxTokenLength = 4_096
    static let maxHostLength = 253
    static let maxUsernameLength = 320
    static let maxSecretLength = 8_192
    static let maxMailboxLength = 255
    static let maxAlertLength = 256
    static let maxSealedLength = 12_288

    let deviceToken: String
    let platform: PushPlatform
    let account: Account
    let notification: MailNotification
    let expiresInSeconds: Int

    init(_ payload: JSONObject, rules: MailRules) throws(MailError) {
        try Self.onlyKnownKeys(payload, Self.topLevelKeys, in: nil)

        guard let device = payload["device"] else { throw .invalid("device", "device is missing: send {\"token\": …, \"type\": \"ios|android\"}") }
        guard case .object(let deviceObject) = device else { throw .invalid("device", "device must be an object") }
        try Self.onlyKnownKeys(deviceObject, Self.deviceKeys, in: "device")
        deviceToken = try Self.string(deviceObject, "token", in: "device", maxLength: Self.maxTokenLength)
        let type = try Self.string(deviceObject, "type", in: "device", maxLength: 32)
        if type.lowercased() == "web" {
            throw MailError(
                status: .badRequest, code: "unsupported_platform",
                message: "device.type web is not available yet: Web Push is not supported for mail; use ios or android", field: "device.type")
        }
        guard let platform = PushPlatform(deviceType: type) else {
            throw .invalid("device.type", "device.type must be ios or android")
        }
        self.platform = platform

        guard let account = payload["account"] else { throw .invalid("account", "account is missing") }
        guard case .object(let accountObject) = account else { throw .invalid("account", "account must be an object") }
        try Self.onlyKnownKeys(accountObject, Self.accountKeys, in: "account")
        self.account = try Self.account(accountObject, rules: rules)

        notification = try Self.notification(payload["notification"])

        switch payload["expiresIn"] {
        case nil, .null?: expiresInSeconds = rules.maxExpiresInSeconds
        case .integer(let seconds)?:
            guard seconds > 0 else { throw .invalid("expiresIn", "expiresIn must be more than 0 seconds") }
            guard seconds <= Int64(rules.maxExpiresInSeconds) else {
                throw .invalid("expiresIn", "expiresIn may be \(rules.maxExpiresInSeconds) seconds at most; register again before it runs out")
            }
            expiresInSeconds = Int(seconds)
        default: throw .invalid("expiresIn", "expiresIn must be a whole number of seconds")
        }
    }

    // MARK: the account

    private static func account(_ object: JSONObject, rules: MailRules) throws(MailError) -> Account {
        if let sealed = object["sealed"] {
            guard object.count == 1 else {
                throw .invalid("account.sealed", "account.sealed replaces every other account field; send it alone")
            }
            guard case .string(let text) = sealed, !text.isEmpty else { throw .invalid("account.sealed", "account.sealed must be a string") }
            return .sealed(try checkSealed(text, keyId: rules.keyId))
        }
        let host = try string(object, "host", in: "account", maxLength: maxHostLength)
        guard !host.contains(where: { $0.isWhitespace || $0 == "/" || $0.asciiValue.map { $0 < 0x20 } == true }) else {
            throw .invalid("account.host", "account.host must be a host name or address, without spaces, scheme or path")
        }
        let tls: String
        switch object["tls"] {
        case nil: tls = "implicit"
        case .string(let mode)? where tlsModes.contains(mode): tls = mode
        default: throw .invalid("account.tls", "account.tls must be implicit, starttls or none")
        }
        if tls == "none" && !rules.allowPlaintext {
            throw MailError(
                status: .badRequest, code: "plaintext_not_allowed",
                message: "account.tls none would send the password in clear; this tracker refuses it (mail.allowPlaintext is false)",
                field: "account.tls")
        }
        let port: Int64
        switch object["port"] {
        case nil, .null?: port = tls == "implicit" ? 993 : 143
        case .integer(let number)? where (1...65535).contains(number): port = number
        default: throw .invalid("account.port", "account.port must be a whole number from 1 to 65535 (993 for implicit TLS, 143 otherwise)")
        }
        let username = try string(object, "username", in: "account", maxLength: maxUsernameLength)
        let secret: (String, String)
        switch (object["password"], object["xoauth2"]) {
        case (nil, nil): throw .invalid("account.password", "account needs a password or an xoauth2 access token")
        case (.some, .some): throw .invalid("account.password", "account takes a password or an xoauth2 access token, not both")
        case (.some, nil): secret = ("password", try string(object, "password", in: "account", maxLength: maxSecretLength, echo: false))
        case (nil, .some): secret = ("xoauth2", try string(object, "xoauth2", in: "account", maxLength: maxSecretLength, echo: false))
        }
        let mailbox = object["mailbox"] == nil ? "INBOX" : try string(object, "mailbox", in: "account", maxLength: maxMailboxLength)
        return .plaintext(JSONObject(pairs: [
            ("host", .string(host)), ("port", .integer(port)), ("tls", .string(tls)), ("username", .string(username)),
            (secret.0, .string(secret.1)), ("mailbox", .string(mailbox)),
        ]))
    }

    /// The shape of `v1.<keyId>.<enc>.<ct>` and its key: the tracker cannot
    /// open it, but it can refuse what the pinger could not open either.
    static func checkSealed(_ text: String, keyId: String) throws(MailError) -> String {
        guard text.utf8.count <= maxSealedLength else {
            throw .invalid("account.sealed", "account.sealed is longer than \(maxSealedLength) bytes")
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == MailSealing.version, Base64URL.decode(parts[2]) != nil,
              let ciphertext = Base64URL.decode(parts[3]), !ciphertext.isEmpty, !parts[2].isEmpty
        else {
            throw .invalid("account.sealed", "account.sealed must read v1.<keyId>.<base64url encapsulated key>.<base64url ciphertext>")
        }
        guard parts[1] == keyId else {
            var error = MailError(
                status: .badRequest, code: "unknown_key",
                message: "account.sealed was sealed to key \(parts[1].prefix(32)); the current key is \(keyId): fetch GET /v1/mail/key and seal again",
                field: "account.sealed")
            error.details = [("currentKeyId", .string(keyId))]
            throw error
        }
        return text
    }

    // MARK: the notification

    private static func notification(_ value: JSONValue?) throws(MailError) -> MailNotification {
        guard let value, value != .null else { return MailNotification() }
        guard case .object(let object) = value else { throw .invalid("notification", "notification must be an object") }
        try onlyKnownKeys(object, notificationKeys, in: "notification")
        let silent = try bool(object, "silent", in: "notification")
        let count = try bool(object, "count", in: "notification")
        var alert: String? = "New mail"
        if object["alert"] != nil {
            alert = try string(object, "alert", in: "notification", maxLength: maxAlertLength)
        }
        return MailNotification(alert: silent ? nil : alert, silent: silent, count: count)
    }

    // MARK: fields

    static func onlyKnownKeys(_ object: JSONObject, _ known: Set<String>, in parent: String?) throws(MailError) {
        for entry in object.entries where !known.contains(entry.key) {
            let name = parent.map { "\($0).\(entry.key)" } ?? entry.key
            throw .invalid(name, "unknown field \(name.prefix(64)); expected \(known.sorted().joined(separator: ", "))")
        }
    }

    /// A non-empty string of at most `maxLength` bytes. `echo: false`: the
    /// message never shows the value (it does not anyway).
    static func string(
        _ object: JSONObject, _ key: String, in parent: String, maxLength: Int, echo: Bool = true
    ) throws(MailError) -> String {
        let name = "\(parent).\(key)"
        guard let value = object[key] else { throw .invalid(name, "\(name) is missing") }
        guard case .string(let text) = value else { throw .invalid(name, "\(name) must be a string, not \(value.typeName)") }
        guard !text.isEmpty else { throw .invalid(name, "\(name) must not be empty") }
        guard text.utf8.count <= maxLength else { throw .invalid(name, "\(name) is longer than \(maxLength) bytes") }
        return text
    }

    static func bool(_ object: JSONObject, _ key: String, in parent: String) throws(MailError) -> Bool {
        switch object[key] {
        case nil, .null?: return false
        case .bool(let flag)?: return flag
        default: throw .invalid("\(parent).\(key)", "\(parent).\(key) must be true or false")
        }
    }
}
