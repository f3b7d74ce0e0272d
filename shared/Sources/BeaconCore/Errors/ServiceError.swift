/// Whether retrying can help: a transient failure (a connection refused, a
/// timeout, a 503) may go away by itself; a permanent one (a refused private
/// address, a malformed request, a 404) will fail the same way every time.
public enum FailureKind: String, Sendable {
    case transient
    case permanent
}

/// An error that says whether retrying it can help. Beacon's own errors and
/// the wrappers of the C libraries conform; any other error counts as transient.
public protocol ClassifiedError: Error, CustomStringConvertible {
    var kind: FailureKind { get }
}

extension Error {
    /// The error's kind when it says; transient otherwise (retrying an
    /// unknown failure loses nothing, dropping it might).
    public var failureKind: FailureKind { (self as? any ClassifiedError)?.kind ?? .transient }

    public var isPermanent: Bool { failureKind == .permanent }
}

/// A service's own failure: a message for the log and for the failed-work
/// record, and whether a retry can help.
public struct ServiceError: ClassifiedError, Sendable, Equatable {
    public let kind: FailureKind
    public let message: String

    public init(_ kind: FailureKind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public static func permanent(_ message: String) -> ServiceError { ServiceError(.permanent, message) }
    public static func transient(_ message: String) -> ServiceError { ServiceError(.transient, message) }

    public var description: String { message }
}
