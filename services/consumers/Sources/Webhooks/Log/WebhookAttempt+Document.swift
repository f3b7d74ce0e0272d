import BeaconMongo
import Foundation

/// A `WebhookAttempt` as the delivery log stores it: its fields by their
/// names, dates as BSON dates (the TTL index and the time filters need
/// them), `host` in lower case (as `GET /requests?host=` asks for it), and
/// `isError` stored so that `GET /errors` has an index.
extension WebhookAttempt {
    var document: MongoDocument {
        var document: MongoDocument = [
            "requestId": .string(requestId), "app": .string(app), "source": .string(source), "sourceName": .string(sourceName),
            "method": .string(method), "url": .string(url), "host": .string(host.lowercased()), "attempt": .int64(Int64(attempt)),
            "outcome": .string(outcome.rawValue), "status": status.map { .int32(Int32(clamping: $0)) } ?? .null,
            "latencyMs": latencyMs.map(MongoValue.double) ?? .null, "responseBody": responseBody.map(MongoValue.string) ?? .null,
            "error": error.map(MongoValue.string) ?? .null, "at": .date(at), "nextAttemptAt": nextAttemptAt.map(MongoValue.date) ?? .null,
        ]
        document["isError"] = .bool(isError)
        return document
    }

    /// nil for a document that is not an attempt (a field missing or mistyped).
    init?(document: MongoDocument) {
        guard let requestId = document.string("requestId"), let app = document.string("app"), let source = document.string("source"),
              let sourceName = document.string("sourceName"), let method = document.string("method"), let url = document.string("url"),
              let host = document.string("host"), let attempt = document.int64("attempt"),
              let outcome = document.string("outcome").flatMap(Outcome.init(rawValue:)), let at = document.date("at")
        else { return nil }
        let latencyMs: Double? = switch document["latencyMs"] {
        case .double(let number)?: number
        case let value?: value.int64Value.map(Double.init)
        case nil: nil
        }
        self.init(
            requestId: requestId, app: app, source: source, sourceName: sourceName, method: method, url: url, host: host,
            attempt: Int(attempt), outcome: outcome, status: document.int64("status").map(Int.init), latencyMs: latencyMs,
            responseBody: document.string("responseBody"), error: document.string("error"), at: at, nextAttemptAt: document.date("nextAttemptAt"))
    }
}
