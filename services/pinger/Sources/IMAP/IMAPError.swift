/// Why an IMAP operation failed. Messages never contain passwords or tokens.
public enum IMAPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// TCP connect (or name resolution) failed.
    case connectFailed(String)
    /// TLS handshake or certificate verification failed, or the server does not offer STARTTLS.
    case tlsFailed(String)
    /// The server refused the credentials (NO/BAD to LOGIN or AUTHENTICATE, or
    /// LOGINDISABLED): permanent, the device has to register again.
    case authenticationFailed(String)
    /// A command other than authentication got NO or BAD.
    case commandFailed(command: String, response: String)
    /// The server sent something that is not IMAP (or not what was asked for);
    /// the connection is closed.
    case protocolViolation(String)
    /// No reply within the command's timeout; the connection is closed.
    case timedOut(String)
    /// The connection is gone (the server closed it, said BYE, or close() was called).
    case closed(String)

    public var isAuthenticationFailure: Bool {
        if case .authenticationFailed = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .connectFailed(let s): "IMAP connect failed: \(s)"
        case .tlsFailed(let s): "IMAP TLS failed: \(s)"
        case .authenticationFailed(let s): "IMAP authentication failed: \(s)"
        case .commandFailed(let command, let response): "IMAP \(command) failed: \(response)"
        case .protocolViolation(let s): "IMAP protocol violation: \(s)"
        case .timedOut(let s): "IMAP timed out: \(s)"
        case .closed(let s): "IMAP connection closed: \(s)"
        }
    }
}
