/// One complete server response, as the parser reads it. Only what the
/// pinger's commands need is taken apart; other untagged data is named and
/// skipped.
public enum IMAPResponse: Sendable, Equatable {
    /// "+ text": the server waits for more of the command (IDLE, a literal, SASL).
    case continuation(String)
    /// "tag OK|NO|BAD ...": the end of the command with that tag.
    case tagged(tag: String, IMAPStatusResponse)
    /// "* OK|NO|BAD|PREAUTH|BYE ...": the greeting, a BYE or a notice.
    case untaggedStatus(IMAPStatusResponse)
    /// "* CAPABILITY ..." (uppercased).
    case capability(Set<String>)
    /// "* n EXISTS".
    case exists(Int)
    /// "* n RECENT".
    case recent(Int)
    /// "* n EXPUNGE".
    case expunge(Int)
    /// "* n FETCH (...)": flags changed; the data is not read.
    case fetch(Int)
    /// "* STATUS mailbox (NAME n ...)", names uppercased.
    case status(mailbox: String, [String: UInt64])
    /// Any other untagged data (FLAGS, LIST, SEARCH, ...), by its keyword.
    case other(String)

    /// True for the untagged responses that say the mailbox changed.
    var isMailboxChange: Bool {
        switch self {
        case .exists, .recent, .expunge, .fetch: true
        default: false
        }
    }
}

/// OK, NO, BAD, PREAUTH or BYE with its optional [code] and text.
public struct IMAPStatusResponse: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case ok = "OK", no = "NO", bad = "BAD", preauth = "PREAUTH", bye = "BYE"
    }

    public var kind: Kind
    public var code: IMAPResponseCode?
    public var text: String

    public init(kind: Kind, code: IMAPResponseCode? = nil, text: String) {
        self.kind = kind
        self.code = code
        self.text = text
    }

    /// For error messages: "NO [AUTHENTICATIONFAILED] Authentication failed."
    var summary: String {
        var s = kind.rawValue
        if let code { s += " [\(code.name)]" }
        if !text.isEmpty { s += " " + text }
        return s
    }
}

/// The bracketed response code of a status response.
public enum IMAPResponseCode: Sendable, Equatable {
    case capability(Set<String>)
    case uidValidity(UInt32)
    case uidNext(UInt32)
    /// Any other code (AUTHENTICATIONFAILED, READ-ONLY, ALERT, ...), name
    /// uppercased, with its argument text if any.
    case other(name: String, argument: String?)

    public var name: String {
        switch self {
        case .capability: "CAPABILITY"
        case .uidValidity: "UIDVALIDITY"
        case .uidNext: "UIDNEXT"
        case .other(let name, _): name
        }
    }
}
