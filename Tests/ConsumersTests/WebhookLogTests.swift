import BeaconCore
import BeaconMongo
import BeaconTestSupport
import Foundation
import Testing
@testable import ConsumersService

/// The webhook delivery log, and the BeaconMongo calls it is built on, on the
/// real MongoDB-wire server `make test` starts. Each test has a collection of its own.
@Suite struct WebhookLogTests {
    static func collection(_ prefix: String) throws -> MongoCollection {
        let base = try TestEnvironment.mongoURL()
        let url = base + (base.contains("?") ? "&" : (base.hasSuffix("/") ? "?" : "/?")) + "serverSelectionTimeoutMS=5000"
        let pool = try MongoClientPool(uri: url, appName: "beacon-consumers-tests")
        return pool.collection(database: "beacon_test", name: "\(prefix)_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased())")
    }

    static func withLog(_ body: (WebhookAttemptLog) throws -> Void) throws {
        let log = WebhookAttemptLog(collection: try collection("attempts"), retentionDays: 7)
        defer { try? log.collection.drop() }
        try log.prepare()
        try body(log)
    }

    /// An hour ago, in whole seconds: recent, or the TTL index's sweep would delete the test's attempts under it.
    static let t0 = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 3_600).rounded(.down))

    static func attempt(
        _ requestId: String, app: String = "shop", host: String = "hooks.example.com", attempt: Int = 1, outcome: WebhookAttempt.Outcome = .delivered,
        status: Int? = 200, at seconds: Double
    ) -> WebhookAttempt {
        WebhookAttempt(
            requestId: requestId, app: app, source: "rule", sourceName: "welcome", method: "POST", url: "https://\(host)/hook?token=***", host: host,
            attempt: attempt, outcome: outcome, status: status, latencyMs: status == nil ? nil : 12.5,
            responseBody: status == nil ? nil : "ok", error: status == nil ? "connection refused" : nil, at: t0.addingTimeInterval(seconds),
            nextAttemptAt: outcome == .retrying ? t0.addingTimeInterval(seconds + 30) : nil)
    }

    static func indexes(_ collection: MongoCollection) throws -> [MongoDocument] {
        let reply = try collection.pool.runCommand(database: collection.database, command: ["listIndexes": .string(collection.name)])
        guard case .array(let batch)? = reply.document("cursor")?["firstBatch"] else { return [] }
        return batch.compactMap { if case .document(let index) = $0 { index } else { nil } }
    }

    // MARK: BeaconMongo

    @Test func insertManyThenFindSortedSkippedAndLimited() throws {
        let collection = try Self.collection("many")
        defer { try? collection.drop() }
        try collection.insertMany((0..<10).map { ["n": .int64(Int64($0)), "at": .date(Self.t0.addingTimeInterval(Double($0)))] })
        try collection.insertMany([])  // nothing to do, no error
        #expect(try collection.count([:]) == 10)
        let page = try collection.find([:], sort: ["n": -1], skip: 2, limit: 3)
        #expect(page.compactMap { $0.int64("n") } == [7, 6, 5])
        // Dates come back as BSON dates, to the millisecond.
        #expect(page.first?.date("at") == Self.t0.addingTimeInterval(7))
        #expect(try collection.find(["n": ["$gte": 8]]).count == 2, "the old signature still works")
        #expect(try collection.find([:], limit: 4).count == 4)
    }

    @Test func insertManyIsUnorderedAndNamesTheDuplicate() throws {
        let collection = try Self.collection("dups")
        defer { try? collection.drop() }
        try collection.createIndex(keys: ["k": 1], name: "k", unique: true)
        let error = #expect(throws: MongoError.self) {
            try collection.insertMany([["k": "a"], ["k": "a"], ["k": "b"]])
        }
        #expect(error?.isDuplicateKey == true, "\(String(describing: error))")
        #expect(try collection.count([:]) == 2, "ordered: false: the one after the duplicate is inserted too")
    }

    @Test func prepareMakesTheTTLAndQueryIndexes() throws {
        try Self.withLog { log in
            try log.prepare()  // again: a no-op
            let indexes = try Self.indexes(log.collection)
            let names = Set(indexes.compactMap { $0.string("name") })
            #expect(names.isSuperset(of: [
                WebhookAttemptLog.Index.ttl, WebhookAttemptLog.Index.newest, WebhookAttemptLog.Index.request, WebhookAttemptLog.Index.app,
                WebhookAttemptLog.Index.host, WebhookAttemptLog.Index.errors, WebhookAttemptLog.Index.appErrors, WebhookAttemptLog.Index.outcome,
            ]), "\(names)")
            let ttl = try #require(indexes.first { $0.string("name") == WebhookAttemptLog.Index.ttl })
            let seconds: Int64? = ttl["expireAfterSeconds"]?.int64Value
            #expect(seconds == Int64(7 * 86_400), "\(String(describing: ttl["expireAfterSeconds"]))")
            #expect(ttl.document("key")?.keys == ["at"])
            // Another retention changes the TTL of the index in place.
            try WebhookAttemptLog(collection: log.collection, retentionDays: 3).prepare()
            let changed = try Self.indexes(log.collection).first { $0.string("name") == WebhookAttemptLog.Index.ttl }
            #expect(changed?["expireAfterSeconds"]?.int64Value == Int64(3 * 86_400), "\(String(describing: changed))")
        }
    }

    // MARK: The log

    @Test func attemptsRoundTripAndHistoryIsOldestFirst() throws {
        try Self.withLog { log in
            let attempts = [
                Self.attempt("r1", attempt: 2, outcome: .delivered, at: 60),
                Self.attempt("r1", attempt: 1, outcome: .retrying, status: nil, at: 0),
                Self.attempt("r2", at: 30),
            ]
            try log.record(attempts)
            #expect(try log.history(requestId: "r1") == [attempts[1], attempts[0]])
            #expect(try log.history(requestId: "none").isEmpty)
        }
    }

    @Test func queriesFilterByAppHostStatusOutcomeTimeAndErrors() throws {
        try Self.withLog { log in
            try log.record([
                Self.attempt("a", app: "shop", host: "a.example", outcome: .delivered, status: 200, at: 1),
                Self.attempt("b", app: "shop", host: "b.example", outcome: .retrying, status: 503, at: 2),
                Self.attempt("c", app: "blog", host: "a.example", outcome: .failed, status: 404, at: 3),
                Self.attempt("d", app: "blog", host: "b.example", outcome: .retrying, status: nil, at: 4),
                Self.attempt("e", app: "shop", host: "a.example", outcome: .deferred, status: 429, at: 5),
            ])
            func ids(_ query: WebhookLogQuery) throws -> [String] { try log.query(query).attempts.map(\.requestId) }
            #expect(try ids(WebhookLogQuery()) == ["e", "d", "c", "b", "a"])
            #expect(try ids(WebhookLogQuery(app: "shop")) == ["e", "b", "a"])
            #expect(try ids(WebhookLogQuery(host: "b.example")) == ["d", "b"])
            #expect(try ids(WebhookLogQuery(status: .exactly(404))) == ["c"])
            #expect(try ids(WebhookLogQuery(status: .classOf(4))) == ["e", "c"])
            #expect(try ids(WebhookLogQuery(status: .classOf(2))) == ["a"])
            #expect(try ids(WebhookLogQuery(outcome: .retrying)) == ["d", "b"])
            #expect(try ids(WebhookLogQuery(errorsOnly: true)) == ["e", "d", "c", "b"])
            #expect(try ids(WebhookLogQuery(app: "shop", errorsOnly: true)) == ["e", "b"])
            #expect(try ids(WebhookLogQuery(since: Self.t0.addingTimeInterval(2), until: Self.t0.addingTimeInterval(4))) == ["c", "b"])
            #expect(try ids(WebhookLogQuery(app: "none")).isEmpty)
        }
    }

    @Test func pagesFollowTheCursorAcrossThreePages() throws {
        try Self.withLog { log in
            // 12 attempts, three in one millisecond: the `_id` tiebreak keeps pages apart.
            var attempts = (0..<9).map { Self.attempt("p\($0)", at: Double($0)) }
            attempts += (0..<3).map { Self.attempt("same\($0)", at: 100) }
            try log.record(attempts)
            var seen: [String] = []
            var query = WebhookLogQuery(limit: 5)
            var pages = 0
            while true {
                let page = try log.query(query)
                pages += 1
                seen += page.attempts.map(\.requestId)
                guard let next = page.next else { break }
                #expect(page.attempts.count == 5)
                query.cursor = try #require(WebhookLogCursor(text: next.text), "the cursor's text parses back")
            }
            #expect(pages == 3)
            #expect(seen.count == 12 && Set(seen).count == 12, "\(seen)")
            #expect(Array(seen.prefix(3)).allSatisfy { $0.hasPrefix("same") })
            #expect(Array(seen.suffix(9)) == (0..<9).reversed().map { "p\($0)" })
            // A filter holds across pages too.
            let first = try log.query(WebhookLogQuery(app: "shop", limit: 10))
            let second = try log.query(WebhookLogQuery(app: "shop", limit: 10, cursor: first.next))
            #expect(first.attempts.count == 10 && second.attempts.count == 2 && second.next == nil)
        }
    }

    /// Each admin query runs on an index (IXSCAN), never a collection scan,
    /// as the MongoDB-wire server's `explain` tells.
    @Test func queriesUseAnIndex() throws {
        try Self.withLog { log in
            var attempts: [WebhookAttempt] = []
            for n in 0..<20 {
                let outcome: WebhookAttempt.Outcome = n % 3 == 0 ? .failed : .delivered
                attempts.append(Self.attempt("x\(n)", app: n % 2 == 0 ? "shop" : "blog", outcome: outcome, at: Double(n)))
            }
            try log.record(attempts)
            let cursor = WebhookLogCursor(atMillis: Timestamp.millis(Self.t0.addingTimeInterval(10)), id: "ffffffffffffffffffffffff")
            for query in [
                WebhookLogQuery(), WebhookLogQuery(app: "shop"), WebhookLogQuery(host: "hooks.example.com"), WebhookLogQuery(errorsOnly: true),
                WebhookLogQuery(app: "shop", errorsOnly: true), WebhookLogQuery(outcome: .failed),
            ] {
                let plan = try explain(log, query)
                #expect(plan.contains("IXSCAN") && !plan.contains("COLLSCAN"), "\(query): \(plan)")
            }
            // A next page adds `at <= last.at` and an `$or` (same `at`, smaller
            // `_id`); mongod bounds the index scan by the range, but SecantusDB's
            // planner gives up on any top-level operator (storage.py
            // _pick_index_for_filter) and reports a COLLSCAN.
            withKnownIssue("SecantusDB plans no index for a top-level $or", isIntermittent: true) {
                let plan = try explain(log, WebhookLogQuery(app: "shop", cursor: cursor))
                #expect(plan.contains("IXSCAN") && !plan.contains("COLLSCAN"), "next page: \(plan)")
            }
            let history = try log.collection.pool.runCommand(database: log.collection.database, command: [
                "explain": ["find": .string(log.collection.name), "filter": ["requestId": "x1"], "sort": ["at": 1, "_id": 1]],
                "verbosity": "queryPlanner",
            ])
            #expect(stages(history.json).contains("IXSCAN"), "\(JSONWriter.string(history.json))")
        }
    }

    private func explain(_ log: WebhookAttemptLog, _ query: WebhookLogQuery) throws -> [String] {
        let reply = try log.collection.pool.runCommand(database: log.collection.database, command: [
            "explain": [
                "find": .string(log.collection.name), "filter": .document(WebhookAttemptLog.filter(query)),
                "sort": .document(WebhookAttemptLog.newestFirst), "limit": .int64(Int64(query.limit + 1)),
            ],
            "verbosity": "queryPlanner",
        ])
        return stages(reply.json)
    }

    /// Every `stage` in the winning plan.
    private func stages(_ json: JSONValue) -> [String] {
        guard let winning = json["queryPlanner"]?["winningPlan"] else { return [] }
        var found: [String] = []
        func walk(_ value: JSONValue) {
            switch value {
            case .object(let object):
                for (key, child) in object.entries {
                    if key == "stage", let name = child.stringValue { found.append(name) } else { walk(child) }
                }
            case .array(let values): values.forEach(walk)
            default: break
            }
        }
        walk(winning)
        return found
    }
}
