import CMongoc

/// `mongoc_init` must run once per process before anything else of libmongoc;
/// a global is initialised exactly once, on first use, thread-safely.
/// (`mongoc_cleanup` is never called: the library lives as long as the process.)
///
/// libmongoc's default log handler also prints its debug chatter (e.g. every
/// failed server-monitor connection); keep warnings and worse, on stderr.
private let mongocInitialized: Bool = {
    mongoc_log_set_handler({ level, domain, message, _ in
        guard level.rawValue <= MONGOC_LOG_LEVEL_WARNING.rawValue else { return }
        mongoc_log_default_handler(level, domain, message, nil)
    }, nil)
    mongoc_init()
    return true
}()

/// A pool of libmongoc clients (`mongoc_client_pool_t`) for one deployment.
///
/// Thread-safe: every operation pops a client, uses it on the calling thread
/// and pushes it back. `mongoc_client_pool_pop` blocks while all clients
/// (`maxPoolSize` in the URI, default 100) are in use, and the first
/// operation waits for server selection (`serverSelectionTimeoutMS`, default
/// 30 s) when no server is reachable; put either in the URI to change them.
public final class MongoClientPool: @unchecked Sendable {
    private let pool: OpaquePointer

    /// - Parameters:
    ///   - uri: a MongoDB connection string, e.g. "mongodb://127.0.0.1:27017/?serverSelectionTimeoutMS=5000".
    ///   - appName: sent in the handshake; shows in the server's logs and `currentOp`
    ///     (an `appname=` option in `uri` takes precedence).
    public init(uri: String, appName: String) throws(MongoError) {
        _ = mongocInitialized
        var error = bson_error_t()
        guard let parsed = mongoc_uri_new_with_error(uri, &error) else { throw MongoError(error) }
        defer { mongoc_uri_destroy(parsed) }  // the pool keeps its own copy
        guard let pool = mongoc_client_pool_new_with_error(parsed, &error) else { throw MongoError(error) }
        mongoc_client_pool_set_error_api(pool, Int32(MONGOC_ERROR_API_VERSION_2))
        // An `appname=` in the URI wins (libmongoc refuses to set it twice).
        let uriHasAppName = mongoc_uri_get_appname(parsed) != nil
        if !appName.isEmpty, !uriHasAppName, !mongoc_client_pool_set_appname(pool, appName) {
            mongoc_client_pool_destroy(pool)
            throw MongoError(
                domain: UInt32(MONGOC_ERROR_CLIENT.rawValue), code: UInt32(MONGOC_ERROR_COMMAND_INVALID_ARG.rawValue),
                message: "invalid appName '\(appName)' (at most \(MONGOC_HANDSHAKE_APPNAME_MAX) bytes)")
        }
        self.pool = pool
    }

    deinit {
        // Every client was pushed back: operations hold the pool (through
        // MongoCollection) for as long as they run.
        mongoc_client_pool_destroy(pool)
    }

    /// Runs `body` with a client of its own, returned to the pool afterwards.
    func withClient<T>(_ body: (OpaquePointer) throws(MongoError) -> T) throws(MongoError) -> T {
        guard let client = mongoc_client_pool_pop(pool) else {
            throw MongoError(domain: UInt32(MONGOC_ERROR_CLIENT.rawValue), code: 0,
                             message: "mongoc_client_pool_pop returned no client")
        }
        defer { mongoc_client_pool_push(pool, client) }
        return try body(client)
    }

    /// `{ping: 1}` on the admin database: succeeds once a server is selected and answers.
    public func ping() throws(MongoError) {
        _ = try runCommand(database: "admin", command: ["ping": 1])
    }

    /// Runs any database command and returns the server's reply. Throws when
    /// the server answers `ok: 0` (with its `errmsg`) or cannot be reached.
    @discardableResult
    public func runCommand(database: String, command: MongoDocument) throws(MongoError) -> MongoDocument {
        let commandDocument = try BSONDocument(command)
        defer { withExtendedLifetime(commandDocument) {} }  // alive until libmongoc is done with it
        return try withClient { client throws(MongoError) in
            let reply = BSONDocument()
            var error = bson_error_t()
            guard mongoc_client_command_simple(client, database, commandDocument.pointer, nil, reply.pointer, &error) else {
                throw MongoError(error, reply: reply)
            }
            return reply.document
        }
    }

    public func collection(database: String, name: String) -> MongoCollection {
        MongoCollection(pool: self, database: database, name: name)
    }
}
