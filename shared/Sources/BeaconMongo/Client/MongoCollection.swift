import CMongoc

/// One collection, addressed through a pool: each call pops a client, runs,
/// and pushes it back, so a `MongoCollection` can be shared freely.
/// Documents, filters and updates are `MongoDocument`s, written to BSON and
/// read back from it directly.
public struct MongoCollection: Sendable {
    public let pool: MongoClientPool
    public let database: String
    public let name: String

    init(pool: MongoClientPool, database: String, name: String) {
        self.pool = pool
        self.database = database
        self.name = name
    }

    private func withCollection<T>(_ body: (OpaquePointer) throws(MongoError) -> T) throws(MongoError) -> T {
        try pool.withClient { client throws(MongoError) in
            let collection = mongoc_client_get_collection(client, database, name)!
            defer { mongoc_collection_destroy(collection) }
            return try body(collection)
        }
    }

    /// Inserts one document (the server, or libmongoc, adds an `_id` if missing).
    /// A unique-index violation throws with `isDuplicateKey` and the server's message.
    public func insert(_ document: MongoDocument) throws(MongoError) {
        let document = try BSONDocument(document)
        defer { withExtendedLifetime(document) {} }  // alive until libmongoc is done with it
        try withCollection { collection throws(MongoError) in
            let reply = BSONDocument()
            var error = bson_error_t()
            guard mongoc_collection_insert_one(collection, document.pointer, nil, reply.pointer, &error) else {
                throw MongoError(error, reply: reply)
            }
        }
    }

    /// Inserts `documents` in one round trip, unordered: the server tries every
    /// one even when some fail (e.g. a duplicate key), and the error names them.
    /// An empty list is a no-op (libmongoc refuses one).
    public func insertMany(_ documents: [MongoDocument]) throws(MongoError) {
        guard !documents.isEmpty else { return }
        var bsons: [BSONDocument] = []
        bsons.reserveCapacity(documents.count)
        for document in documents { bsons.append(try BSONDocument(document)) }
        defer { withExtendedLifetime(bsons) {} }  // alive until libmongoc is done with them
        let options = try BSONDocument(["ordered": false])
        defer { withExtendedLifetime(options) {} }
        var pointers: [OpaquePointer?] = bsons.map(\.pointer)
        try withCollection { collection throws(MongoError) in
            let reply = BSONDocument()
            var error = bson_error_t()
            let ok = pointers.withUnsafeMutableBufferPointer { buffer in
                mongoc_collection_insert_many(collection, buffer.baseAddress, buffer.count, options.pointer, reply.pointer, &error)
            }
            guard ok else { throw MongoError(error, reply: reply) }
        }
    }

    /// Updates the first document matching `filter`, inserting one when none
    /// matches. `update` is either update operators (`{"$set": {...}}`, via
    /// updateOne) or a whole replacement document (via replaceOne).
    ///
    /// - Returns: how many documents matched (0 or 1) and whether one was inserted.
    @discardableResult
    public func upsert(filter: MongoDocument, update: MongoDocument) throws(MongoError) -> (matched: Int, upserted: Bool) {
        try updateOne(filter: filter, update: update, upsert: true)
    }

    /// Updates the first document matching `filter`, if there is one.
    ///
    /// - Returns: how many documents matched (0 or 1).
    @discardableResult
    public func update(filter: MongoDocument, update: MongoDocument) throws(MongoError) -> Int {
        try updateOne(filter: filter, update: update, upsert: false).matched
    }

    private func updateOne(filter: MongoDocument, update: MongoDocument, upsert: Bool) throws(MongoError) -> (matched: Int, upserted: Bool) {
        let selector = try BSONDocument(filter)
        defer { withExtendedLifetime(selector) {} }  // alive until libmongoc is done with it
        let change = try BSONDocument(update)
        defer { withExtendedLifetime(change) {} }  // alive until libmongoc is done with it
        let options = try BSONDocument(["upsert": .bool(upsert)])
        defer { withExtendedLifetime(options) {} }  // alive until libmongoc is done with it
        let isOperatorUpdate = change.firstKey?.hasPrefix("$") ?? false
        return try withCollection { collection throws(MongoError) in
            let reply = BSONDocument()
            var error = bson_error_t()
            let ok = isOperatorUpdate
                ? mongoc_collection_update_one(collection, selector.pointer, change.pointer, options.pointer, reply.pointer, &error)
                : mongoc_collection_replace_one(collection, selector.pointer, change.pointer, options.pointer, reply.pointer, &error)
            guard ok else { throw MongoError(error, reply: reply) }
            let upserted = (reply.int64("upsertedCount") ?? 0) > 0 || reply.contains("upsertedId")
            return (matched: Int(reply.int64("matchedCount") ?? 0), upserted: upserted)
        }
    }

    /// The documents matching `filter` in `sort`'s order (e.g. `["at": -1]`;
    /// empty: the server's), skipping the first `skip`, at most `limit` of
    /// them (0: no limit).
    public func find(_ filter: MongoDocument, sort: MongoDocument = [:], skip: Int = 0, limit: Int = 0) throws(MongoError) -> [MongoDocument] {
        let selector = try BSONDocument(filter)
        defer { withExtendedLifetime(selector) {} }  // alive until libmongoc is done with it
        var findOptions: MongoDocument = [:]
        if !sort.isEmpty { findOptions["sort"] = .document(sort) }
        if skip > 0 { findOptions["skip"] = .int64(Int64(skip)) }
        if limit > 0 { findOptions["limit"] = .int64(Int64(limit)) }
        let options = try BSONDocument(findOptions)
        defer { withExtendedLifetime(options) {} }  // alive until libmongoc is done with it
        return try withCollection { collection throws(MongoError) in
            guard let cursor = mongoc_collection_find_with_opts(collection, selector.pointer, options.pointer, nil) else {
                throw MongoError(domain: UInt32(MONGOC_ERROR_CURSOR.rawValue), code: 0,
                                 message: "mongoc_collection_find_with_opts returned no cursor")
            }
            defer { mongoc_cursor_destroy(cursor) }
            var documents: [MongoDocument] = []
            var document: OpaquePointer?
            while mongoc_cursor_next(cursor, &document) {
                if let document { documents.append(BSONDocument.document(document)) }
            }
            var error = bson_error_t()
            var errorReply: OpaquePointer?
            if mongoc_cursor_error_document(cursor, &error, &errorReply) {
                throw MongoError(error, reply: errorReply.map { BSONDocument(copying: $0) })
            }
            return documents
        }
    }

    /// Deletes every document matching `filter`; returns how many.
    @discardableResult
    public func deleteMany(_ filter: MongoDocument) throws(MongoError) -> Int {
        let selector = try BSONDocument(filter)
        defer { withExtendedLifetime(selector) {} }  // alive until libmongoc is done with it
        return try withCollection { collection throws(MongoError) in
            let reply = BSONDocument()
            var error = bson_error_t()
            guard mongoc_collection_delete_many(collection, selector.pointer, nil, reply.pointer, &error) else {
                throw MongoError(error, reply: reply)
            }
            return Int(reply.int64("deletedCount") ?? 0)
        }
    }

    /// How many documents match `filter`.
    public func count(_ filter: MongoDocument) throws(MongoError) -> Int {
        let selector = try BSONDocument(filter)
        defer { withExtendedLifetime(selector) {} }  // alive until libmongoc is done with it
        return try withCollection { collection throws(MongoError) in
            let reply = BSONDocument()
            var error = bson_error_t()
            let count = mongoc_collection_count_documents(collection, selector.pointer, nil, nil, reply.pointer, &error)
            guard count >= 0 else { throw MongoError(error, reply: reply) }
            return Int(count)
        }
    }

    /// Creates an index (a no-op when an identical one exists). `keys` is the
    /// key pattern, e.g. `["app": 1, "token": 1]`; `expireAfterSeconds` makes
    /// it a TTL index (one date field): the server deletes documents that much
    /// older than their date.
    ///
    /// Sent as a `createIndexes` command: libmongoc 1.23 has no
    /// `mongoc_collection_create_indexes_with_opts`.
    public func createIndex(keys: MongoDocument, name indexName: String, unique: Bool = false, expireAfterSeconds: Int? = nil) throws(MongoError) {
        var index: MongoDocument = ["key": .document(keys), "name": .string(indexName)]
        if unique { index["unique"] = true }
        if let expireAfterSeconds { index["expireAfterSeconds"] = .int32(Int32(clamping: expireAfterSeconds)) }
        let command = try BSONDocument(["createIndexes": .string(name), "indexes": [.document(index)]])
        defer { withExtendedLifetime(command) {} }  // alive until libmongoc is done with it
        try withCollection { collection throws(MongoError) in
            let reply = BSONDocument()
            var error = bson_error_t()
            guard mongoc_collection_write_command_with_opts(collection, command.pointer, nil, reply.pointer, &error) else {
                throw MongoError(error, reply: reply)
            }
        }
    }

    /// Drops the collection with its indexes; dropping one that does not exist is not an error.
    public func drop() throws(MongoError) {
        try withCollection { collection throws(MongoError) in
            var error = bson_error_t()
            guard mongoc_collection_drop_with_opts(collection, nil, &error) else {
                let failure = MongoError(error)
                if failure.code == 26 || failure.message.contains("ns not found") { return }  // NamespaceNotFound
                throw failure
            }
        }
    }
}
