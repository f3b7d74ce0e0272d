import BeaconCore

/// A failure talking to Redis, with hiredis's own message.
public enum RedisError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The connection failed or broke; the owner reconnects.
    case connection(String)
    /// Redis answered a command with an error reply (e.g. `WRONGTYPE ...`).
    case server(String)
    /// The URL could not be understood.
    case invalidURL(String)
    /// A reply of an unexpected shape.
    case protocolViolation(String)

    public var description: String {
        switch self {
        case .connection(let message): "redis connection: \(message)"
        case .server(let message): "redis: \(message)"
        case .invalidURL(let url): "redis: invalid URL \(url) (expected redis://[:password@]host:port[/db])"
        case .protocolViolation(let message): "redis: unexpected reply: \(message)"
        }
    }

    public var isConnectionError: Bool {
        if case .connection = self { return true }
        return false
    }
}

extension RedisError: ClassifiedError {
    /// Permanent for what no retry changes (a key of the wrong type, a bad
    /// URL, a reply of the wrong shape); transient for connections and other
    /// server errors (out of memory, loading, a replica in the way).
    public var kind: FailureKind {
        switch self {
        case .connection: .transient
        case .server(let message): message.hasPrefix("WRONGTYPE") ? .permanent : .transient
        case .invalidURL, .protocolViolation: .permanent
        }
    }
}
