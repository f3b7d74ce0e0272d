import BeaconCore
import CMongoc

/// A failure reported by libmongoc or libbson, with the library's (or the
/// server's) message.
public struct MongoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `bson_error_t.domain`: a `mongoc_error_domain_t` (17 = MONGOC_ERROR_SERVER:
    /// the server answered with an error, its code in `code`; 15 =
    /// MONGOC_ERROR_SERVER_SELECTION: no server reachable; 11 = MONGOC_ERROR_COMMAND,
    /// e.g. a bad URI) or, for JSON text that libbson cannot parse, BSON_ERROR_JSON = 1.
    public var domain: UInt32
    /// `bson_error_t.code`: for server errors, the server's error code
    /// (11000 = duplicate key).
    public var code: UInt32
    /// The C library's message; for server errors, the server's `errmsg`.
    public var message: String
    /// The server's reply, when there was one (e.g. `writeErrors` with
    /// `keyPattern` / `keyValue` for a duplicate key).
    public var reply: MongoDocument?

    public init(domain: UInt32, code: UInt32, message: String, reply: MongoDocument? = nil) {
        self.domain = domain
        self.code = code
        self.message = message
        self.reply = reply
    }

    init(_ error: bson_error_t, reply: BSONDocument? = nil) {
        var error = error
        let message = withUnsafeBytes(of: &error.message) { raw -> String in
            let bytes = raw.bindMemory(to: UInt8.self)
            let end = bytes.firstIndex(of: 0) ?? bytes.endIndex
            return String(decoding: bytes[..<end], as: UTF8.self)
        }
        self.init(domain: error.domain, code: error.code, message: message, reply: reply.flatMap { $0.isEmpty ? nil : $0.document })
    }

    /// The server refused a write because it would duplicate a unique index key.
    public var isDuplicateKey: Bool { code == 11000 || code == 11001 }

    public var description: String {
        "MongoDB error \(code) (domain \(domain)): \(message)"
    }
}

extension MongoError: ClassifiedError {
    /// Permanent for what no retry changes: a duplicate key, and server
    /// errors about the request itself (a bad value or operator, a type
    /// mismatch, a document that fails validation); transient for the rest
    /// (no server selected, the network, timeouts, a primary stepping down).
    public var kind: FailureKind {
        if isDuplicateKey || domain == UInt32(MONGOC_ERROR_BSON.rawValue) { return .permanent }
        guard domain == UInt32(MONGOC_ERROR_SERVER.rawValue) || domain == UInt32(MONGOC_ERROR_QUERY.rawValue)
            || domain == UInt32(MONGOC_ERROR_WRITE_CONCERN.rawValue) else {
            return domain == UInt32(MONGOC_ERROR_COMMAND.rawValue) && code == UInt32(MONGOC_ERROR_COMMAND_INVALID_ARG.rawValue)
                ? .permanent : .transient
        }
        return Self.permanentServerCodes.contains(code) ? .permanent : .transient
    }

    /// BadValue, FailedToParse, TypeMismatch, ConflictingUpdateOperators,
    /// DollarPrefixedFieldName, ImmutableField, DocumentValidationFailure.
    static let permanentServerCodes: Set<UInt32> = [2, 9, 14, 40, 52, 66, 121]
}
