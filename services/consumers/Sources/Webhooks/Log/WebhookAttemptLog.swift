import BeaconCore
import BeaconMongo
import Foundation

/// The webhook delivery log: one MongoDB document per attempt in
/// `webhooks.logCollection`, kept `webhooks.logRetentionDays` (a TTL index
/// on `at`). The worker records attempts; the admin routes read them back.
///
/// Every query has an index that serves both its filter and its newest-first
/// order (`at`, then `_id` as the tiebreak the cursor needs), so none scans
/// the collection or sorts in memory.
struct WebhookAttemptLog: Sendable {
    let collection: MongoCollection
    let retentionSeconds: Int

    /// A page of attempts, newest first, and the cursor of the next (nil: none).
    struct Page: Sendable {
        let attempts: [WebhookAttempt]
        let next: WebhookLogCursor?
    }

    /// The index each filter uses, by name; also what `explain` tests check.
    enum Index {
        static let ttl = "at_ttl"
        static let newest = "at_id"
        static let request = "requestId_at"
        static let app = "app_at_id"
        static let host = "host_at_id"
        static let errors = "isError_at_id"
        /// `GET /errors?app=…`, the usual view: only the app's errors are read.
        static let appErrors = "app_isError_at_id"
        static let outcome = "outcome_at_id"
    }

    init(collection: MongoCollection, retentionDays: Int) {
        self.collection = collection
        self.retentionSeconds = retentionDays * 86_400
    }

    func prepare() throws(MongoError) {
        // int32 keys, as DeviceStore makes them: one key type for one index name.
        do {
            try collection.createIndex(keys: ["at": .int32(1)], name: Index.ttl, expireAfterSeconds: retentionSeconds)
        } catch where error.code == 85 || error.code == 86 {
            // IndexOptionsConflict / IndexKeySpecsConflict: the retention changed. collMod changes a TTL in place.
            try collection.pool.runCommand(database: collection.database, command: [
                "collMod": .string(collection.name),
                "index": ["name": .string(Index.ttl), "expireAfterSeconds": .int32(Int32(clamping: retentionSeconds))],
            ])
        }
        try collection.createIndex(keys: ["at": .int32(-1), "_id": .int32(-1)], name: Index.newest)
        try collection.createIndex(keys: ["requestId": .int32(1), "at": .int32(1)], name: Index.request)
        for (field, name) in [("app", Index.app), ("host", Index.host), ("isError", Index.errors), ("outcome", Index.outcome)] {
            try collection.createIndex(keys: [field: .int32(1), "at": .int32(-1), "_id": .int32(-1)], name: name)
        }
        try collection.createIndex(keys: ["app": .int32(1), "isError": .int32(1), "at": .int32(-1), "_id": .int32(-1)], name: Index.appErrors)
    }

    /// Appends attempts in one round trip.
    func record(_ attempts: [WebhookAttempt]) throws(MongoError) {
        try collection.insertMany(attempts.map(\.document))
    }

    /// Every attempt of one request, oldest first.
    func history(requestId: String) throws(MongoError) -> [WebhookAttempt] {
        try collection.find(["requestId": .string(requestId)], sort: ["at": .int32(1), "_id": .int32(1)]).compactMap(WebhookAttempt.init(document:))
    }

    func query(_ query: WebhookLogQuery) throws(MongoError) -> Page {
        // One more than the page: whether there is a next one, without a count.
        let documents = try collection.find(Self.filter(query), sort: Self.newestFirst, limit: query.limit + 1)
        let page = documents.prefix(query.limit)
        var next: WebhookLogCursor?
        if documents.count > query.limit, let last = page.last, let at = last.date("at"), case .objectId(let id)? = last["_id"] {
            next = WebhookLogCursor(atMillis: Timestamp.millis(at), id: id)
        }
        return Page(attempts: page.compactMap(WebhookAttempt.init(document:)), next: next)
    }

    static let newestFirst: MongoDocument = ["at": .int32(-1), "_id": .int32(-1)]

    static func filter(_ query: WebhookLogQuery) -> MongoDocument {
        var filter: MongoDocument = [:]
        if let app = query.app { filter["app"] = .string(app) }
        if let host = query.host { filter["host"] = .string(host) }
        if query.errorsOnly { filter["isError"] = true }
        if let outcome = query.outcome { filter["outcome"] = .string(outcome.rawValue) }
        switch query.status {
        case .exactly(let code)?: filter["status"] = .int32(Int32(code))
        case .classOf(let digit)?: filter["status"] = ["$gte": .int32(Int32(digit * 100)), "$lt": .int32(Int32(digit * 100 + 100))]
        case nil: break
        }
        var at: MongoDocument = [:]
        if let since = query.since { at["$gte"] = .date(since) }
        if let until = query.until { at["$lt"] = .date(until) }
        if let cursor = query.cursor {
            at["$lte"] = .date(cursor.at)
            filter["$or"] = cursor.orEarlier
        }
        if !at.isEmpty { filter["at"] = .document(at) }
        return filter
    }
}

/// The dispatcher writes each batch of attempts here.
extension WebhookAttemptLog: AttemptRecording {}
