/// A failure of libmaxminddb, carrying the library's own message.
public enum GeoIPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `MMDB_open` failed: missing file, not a MaxMind DB, corrupt metadata...
    case openFailed(path: String, message: String)
    /// The text is not an IP address (getaddrinfo's message).
    case invalidAddress(String, message: String)
    /// The lookup itself failed (e.g. IPv6 address in an IPv4-only database,
    /// corrupt search tree, data of an unexpected type).
    case lookupFailed(ip: String, message: String)

    /// The C library's message alone.
    public var message: String {
        switch self {
        case .openFailed(_, let message), .invalidAddress(_, let message), .lookupFailed(_, let message):
            return message
        }
    }

    public var description: String {
        switch self {
        case .openFailed(let path, let message):
            return "cannot open GeoIP database '\(path)': \(message)"
        case .invalidAddress(let text, let message):
            return "'\(text)' is not a valid IP address: \(message)"
        case .lookupFailed(let ip, let message):
            return "GeoIP lookup of \(ip) failed: \(message)"
        }
    }
}
